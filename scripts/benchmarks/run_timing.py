"""Timing whole ``bench run`` calls side by side (a module, no command): what ``dask_overhead`` and
``parallel_speedup`` share. Each run goes through ``harness.runner.start`` in this process, as the CLI's
would, quietly, into a results folder of the caller's."""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.cli.options import parse_seeds
from harness.executors.base import ExecutorConfig
from harness.plan import RunConfig
from harness.progress import LineProgress
from harness.runner import start
from harness.spec import Spec


def add_matrix_options(parser: argparse.ArgumentParser, *, backends: str, cells: str, seeds: str) -> None:
    parser.add_argument("--backends", default=backends, help=f"comma list (default {backends})")
    parser.add_argument("--cells", default=cells, help=f"comma list (default {cells})")
    parser.add_argument("--seeds", default=seeds, help=f"list or range, as bench run takes them (default {seeds})")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--data", default=None, help="as bench run --data (default: the IMDB archive)")
    parser.add_argument("--maxlen", type=int, default=None, help="spec maxlen (default: the spec's)")
    parser.add_argument("--vocab-size", type=int, default=None, help="spec vocab_size (default: the spec's)")
    parser.add_argument("--threads", type=int, default=1, help="threads per job (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--results", default=None, help="folder for the runs (default: a new temporary one)")


def run_config(args: argparse.Namespace, results: Path, name: str, executor: ExecutorConfig) -> RunConfig:
    given = {"epochs": args.epochs, "maxlen": args.maxlen, "vocab_size": args.vocab_size}
    spec = Spec.from_dict({k: v for k, v in given.items() if v is not None})
    return RunConfig(
        spec=spec,
        backends=tuple(args.backends.split(",")),
        cells=tuple(args.cells.split(",")),
        seeds=parse_seeds([args.seeds]),
        mode="matched",
        data=args.data,
        threads=args.threads,
        target_acc=0.85,
        results=results,
        name=name,
        command=f"scripts.benchmarks ({name})",
        executor=executor,
    )


def job_count(config: RunConfig) -> int:
    return len(config.backends) * len(config.cells) * len(config.seeds)


def timed_run(config: RunConfig) -> float:
    """Wall seconds of one whole run (data, executor, every job); raises if a job is not ok."""
    with open(os.devnull, "w") as quiet:
        started = time.monotonic()
        run, statuses = start(config, lambda: LineProgress(quiet), notify=lambda text: None)
        wall = time.monotonic() - started
    bad = {job: status for job, status in statuses.items() if status != "ok"}
    if bad:
        raise SystemExit(f"run {run.path}: jobs not ok: {bad}")
    return wall


def interleaved(
    rounds: int, sides: Sequence[str], run: Callable[[str, int], float], report: Callable[[int, dict[str, float]], None]
) -> dict[str, list[float]]:
    """``rounds`` rounds, each running every side once, the order turning round by round (ABBA...), so a
    drift of the machine's speed hits every side alike."""
    walls: dict[str, list[float]] = {side: [] for side in sides}
    for r in range(rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        this = {side: run(side, r) for side in order}
        for side, wall in this.items():
            walls[side].append(wall)
        report(r, this)
    return walls


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
