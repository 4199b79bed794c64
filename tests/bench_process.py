"""``bench`` as a user runs it: a fresh ``python -m harness.cli`` process, black-box.

Tests of the runner and the CLI's promises (exit codes, one-line errors, Ctrl-C) go through here rather
than through harness internals, so they hold whatever module layout the runner has."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "tests" / "plugins"
FAULTY_PLUGINS = ROOT / "tests" / "plugins_faulty"
#: A spec small enough that a numpy-fake job takes a second or two.
TINY_SPEC = ("--vocab-size", "60", "--embed-dim", "4", "--units", "4", "--maxlen", "16", "--batch-size", "32")
TINY_DATA = ("--data", "synthetic:train=200,test=64,seed=3")


def bench_env(plugins: Iterable[Path] = (PLUGINS,), extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``bench`` process that sees this checkout and the given test plugins."""
    path = os.pathsep.join([*map(str, plugins), str(ROOT)])
    return {**os.environ, **(extra or {}), "PYTHONPATH": path}


def bench_command(*args: object) -> list[str]:
    return [sys.executable, "-m", "harness.cli", *map(str, args)]


def bench(
    *args: object,
    plugins: Iterable[Path] = (PLUGINS,),
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``bench ARGS`` to completion; stdout and stderr are kept apart."""
    return subprocess.run(
        bench_command(*args),
        cwd=ROOT,
        env=bench_env(plugins, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
