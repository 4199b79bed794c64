"""``bench run``: train every (backend x cell x seed) job of the matrix, each in a fresh process."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from backends.base import MODES
from harness.errors import BenchError
from harness.jobs import DEFAULT_TARGET_ACC
from harness.progress import make_progress
from harness.runner import RunConfig, start
from harness.spec import CELLS

from .options import (
    build_spec,
    choose,
    choose_backends,
    data_option,
    default_threads,
    pop_spec_overrides,
    results_option,
    spec_options,
    split_list,
    threads_option,
)

EXIT_JOBS_FAILED = 1


def _seeds(values: tuple[str, ...]) -> tuple[int, ...]:
    items = split_list(values) or ["0"]
    try:
        seeds = tuple(int(v) for v in items)
    except ValueError:
        raise BenchError(f"--seeds takes non-negative integers (e.g. --seeds 0,1,2), got {', '.join(items)}") from None
    if any(s < 0 for s in seeds):
        raise BenchError("--seeds must be non-negative integers")
    return seeds


@click.command("run")
@click.option(
    "--cells", multiple=True, metavar="LIST", help=f"Cells, comma list or repeated (default: all: {','.join(CELLS)})."
)
@click.option(
    "--backends",
    multiple=True,
    metavar="LIST",
    help="Backends, comma list or repeated (default: keras,torch; bench backends lists them). A variant sets "
    "config options: torch:flush_denormal=true, torch-compile:allow_rnn=true.",
)
@click.option(
    "--seeds", multiple=True, metavar="LIST", help="Seeds (default 0); each seed is a job per backend x cell."
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="matched",
    show_default=True,
    help="matched: one set of initial weights and Keras' RMSprop everywhere; native: each framework's own defaults.",
)
@spec_options
@data_option
@click.option(
    "--train-limit",
    type=click.IntRange(min=2),
    default=None,
    help="Use only the first N training reviews (validation is split from these, as Keras would).",
)
@click.option(
    "--test-limit", type=click.IntRange(min=1), default=None, help="Evaluate on the first N test reviews only."
)
@threads_option
@click.option(
    "--target-acc",
    type=click.FloatRange(0, 1),
    default=DEFAULT_TARGET_ACC,
    show_default=True,
    help="Validation accuracy for time-to-accuracy.",
)
@results_option
@click.option("--name", default=None, help="Run folder name (default: the start time, YYYYmmdd-HHMMSS).")
@click.option(
    "--resume",
    default=None,
    metavar="RUN",
    help="Rerun only the missing or failed jobs of RUN (its matrix and spec are kept).",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=1),
    default=None,
    help="Per-job time limit in seconds (default: none).",
)
@click.option("--quiet", is_flag=True, help="One line per epoch and per job instead of the live view.")
def run(
    cells,
    backends,
    seeds,
    mode,
    data,
    train_limit,
    test_limit,
    threads,
    target_acc,
    results,
    name,
    resume,
    timeout_s,
    quiet,
    config,
    **spec_fields,
) -> None:
    """Train the benchmark matrix and write one JSON record per job.

    Each job runs in a fresh process with its thread pools pinned; all jobs see the same prepared data and
    the same batches in the same order. Exit code: 0 all jobs ok; 1 some job failed, timed out or was
    interrupted (the others are kept: finish with --resume RUN); 2 bad input.
    """
    overrides = pop_spec_overrides(spec_fields)
    spec = build_spec(config, overrides)
    run_config = RunConfig(
        spec=spec,
        backends=tuple(choose_backends(backends, ("keras", "torch"))),
        cells=tuple(choose("cell", cells, CELLS, CELLS)),
        seeds=_seeds(seeds),
        mode=mode,
        data=data,
        threads=threads or default_threads(),
        target_acc=target_acc,
        results=Path(results),
        name=name,
        train_limit=train_limit,
        test_limit=test_limit,
        timeout_s=timeout_s,
        command=shlex.join(["bench", *sys.argv[1:]]),
    )
    try:
        finished, statuses = start(run_config, lambda: make_progress(quiet), resume=resume)
    except KeyboardInterrupt:
        click.echo("interrupted: finished jobs are kept; finish the run with bench run --resume NAME", err=True)
        sys.exit(130)
    failed = [j for j in finished.manifest["jobs"] if j["status"] != "ok"]
    click.echo(f"run {finished.name}: {len(statuses)} job(s) run now, {len(failed)} not ok; folder {finished.path}")
    if failed:
        for j in failed:
            click.echo(f"  {j['job_id']}: {j['status']}: {j['error']}", err=True)
        click.echo(f"finish it with: bench run --resume {finished.name} --results {finished.path.parent}", err=True)
        sys.exit(EXIT_JOBS_FAILED)
    click.echo(f"next: bench report {finished.path}")
