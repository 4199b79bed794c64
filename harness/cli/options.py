"""Options shared by several commands, defined once."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any

import click

from harness.devices import DEVICE_REQUESTS
from harness.errors import BenchError
from harness.spec import Spec

#: Spec fields that get a command-line option of their own (``--vocab-size`` etc.).
SPEC_OPTION_FIELDS: tuple[str, ...] = (
    "epochs",
    "batch_size",
    "maxlen",
    "vocab_size",
    "embed_dim",
    "units",
    "learning_rate",
)


def split_list(values: Iterable[str] | None) -> list[str]:
    """Accept both comma lists and repeated options: ``--cells lstm,gru --cells simplernn``."""
    out: list[str] = []
    for value in values or ():
        for item in str(value).split(","):
            item = item.strip()
            if item and item not in out:
                out.append(item)
    return out


def choose(kind: str, values: Iterable[str] | None, valid: Iterable[str], default: Iterable[str]) -> list[str]:
    """Validate a list option; an unknown value gets a one-line error listing the valid ones."""
    valid = list(valid)
    chosen = split_list(values) or list(default)
    unknown = [v for v in chosen if v not in valid]
    if unknown:
        raise BenchError(f"unknown {kind} {', '.join(map(repr, unknown))}; valid {kind}s: {', '.join(valid)}")
    return chosen


def choose_backends(values: Iterable[str] | None, default: Iterable[str], device: str = "cpu") -> list[str]:
    """Backends named on the command line (variants included: ``torch:flush_denormal=true``) as their
    canonical labels, checked before any data is prepared: registered, valid options, packages installed
    (looked up, not imported), able to train on a GPU for ``--device gpu``. One-line error (exit 2)
    otherwise."""
    from backends.base import resolve_backends

    return [ref.label for ref in resolve_backends(split_list(values) or list(default), device)]


_SEED = re.compile(r"(\d+)(?:-(\d+))?")


def parse_seeds(values: Iterable[str] | None, option: str = "--seeds") -> tuple[int, ...]:
    """Seeds as a comma list, ranges or both (``0,1,2``, ``0-4``, ``0-2,5``); default (0,). Each seed once,
    in the order given."""
    seeds: dict[int, None] = {}  # ordered, each seed once
    for item in split_list(values) or ["0"]:
        match = _SEED.fullmatch(item)
        if match is None:
            raise BenchError(
                f"{option} takes non-negative integers and ranges (e.g. {option} 0-4, 0,1,2 or 0-2,5), got {item!r}"
            )
        low, high = int(match[1]), int(match[2] if match[2] is not None else match[1])
        if high < low:
            raise BenchError(f"{option} range {item} is empty: write LOW-HIGH with LOW <= HIGH (e.g. 0-4)")
        seeds.update(dict.fromkeys(range(low, high + 1)))
    return tuple(seeds)


def spec_options(func: Callable) -> Callable:
    """Add ``--config FILE.toml`` and one option per field in SPEC_OPTION_FIELDS; the command receives
    a ``spec_overrides`` dict that ``build_spec`` turns into a Spec (config file first, then options)."""
    types = {f.name: f.type for f in fields(Spec)}
    for name in reversed(SPEC_OPTION_FIELDS):
        kind = float if types[name] == "float" else int
        func = click.option(
            "--" + name.replace("_", "-"),
            name,
            type=kind,
            default=None,
            help=f"Spec field {name} (default {getattr(Spec(), name)}).",
        )(func)
    func = click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False),
        default=None,
        help="TOML file of spec fields (flat, or under a [spec] table); command-line options override it.",
    )(func)
    return func


def build_spec(config: str | None, overrides: dict[str, Any], base: Spec | None = None) -> Spec:
    spec = base or Spec()
    if config:
        spec = Spec.from_toml_file(config, base=spec)
    given = {k: v for k, v in overrides.items() if k in SPEC_OPTION_FIELDS and v is not None}
    return Spec.from_dict(given, base=spec) if given else spec


def pop_spec_overrides(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: kwargs.pop(name) for name in SPEC_OPTION_FIELDS if name in kwargs}


data_option = click.option(
    "--data",
    "data",
    default=None,
    metavar="SRC",
    help="Data source: path to aclImdb_v1.tar.gz or an extracted aclImdb folder, keras' imdb.npz "
    "('untrusted-npz:PATH' for another npz), or 'synthetic[:train=N,test=N,seed=N]'. Default: $BENCH_DATA, "
    "then the user cache ($BENCH_CACHE_DIR, ~/.cache/rnn-bench), then a download.",
)


def default_threads() -> int:
    """All cores this process may use (the issue's default); recorded with every result."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


threads_option = click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Intra- and inter-op threads for each framework (default: all cores of this machine).",
)


device_option = click.option(
    "--device",
    type=click.Choice(DEVICE_REQUESTS),
    default="cpu",
    show_default=True,
    help="cpu: train on the CPU; gpu: on the first GPU each engine's framework sees (exit 2 when this machine "
    "shows none); auto: a GPU where the engine's framework sees one, else the CPU. Records keep both the "
    "request and the device used (runtime.device_requested, runtime.device). See docs/gpu.md.",
)


results_option = click.option(
    "--results",
    type=click.Path(file_okay=False),
    default="results",
    show_default=True,
    help="Folder holding run folders.",
)
