"""``bench run``: train every (backend x cell x seed) job of the matrix, each in a fresh process."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from backends.base import MODES
from harness.errors import BenchError
from harness.execution import EXECUTORS
from harness.executors.base import ExecutorConfig
from harness.jobs import DEFAULT_TARGET_ACC
from harness.plan import RunConfig
from harness.progress import make_progress
from harness.runner import start
from harness.spec import CELLS
from harness.stop_signals import describe

from .options import (
    build_spec,
    choose,
    choose_backends,
    data_option,
    default_threads,
    device_option,
    parse_seeds,
    pop_spec_overrides,
    results_option,
    spec_options,
    split_list,
    threads_option,
)

EXIT_JOBS_FAILED = 1
SCHEDULER_ENV = "RNN_BENCH_SCHEDULER"


def executor_config(
    executor: str | None,
    scheduler: str | None,
    scheduler_on_command_line: bool,
    parallel: int | None,
    accuracy_only: bool,
    no_wait: bool,
    resources: tuple[str, ...],
) -> ExecutorConfig:
    """The executor options, checked together: each wrong combination gets its own one-line error."""
    if parallel:
        if executor is not None or scheduler_on_command_line:
            raise BenchError(
                "--parallel N runs N jobs at once on this machine (on a Dask LocalCluster of its own); "
                "drop --executor/--scheduler, or drop --parallel"
            )
        kind = "dask"
    else:
        kind = executor or "local"
        if kind == "dask" and not scheduler:
            raise BenchError(
                f"--executor dask needs the scheduler's address: --scheduler tcp://HOST:8786 (or set {SCHEDULER_ENV})"
            )
        if kind == "local" and scheduler_on_command_line:
            raise BenchError("--scheduler is for --executor dask: add --executor dask, or drop --scheduler")
    wanted = _resources(resources)
    if wanted and (kind != "dask" or parallel):
        raise BenchError("--resources is for jobs on a Dask cluster: use it with --executor dask --scheduler ADDRESS")
    return ExecutorConfig(
        kind=kind,
        scheduler=scheduler if kind == "dask" and not parallel else None,
        parallel=parallel,
        accuracy_only=accuracy_only,
        wait_for_lock=not no_wait,
        resources=wanted,
    )


def _resources(values: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in split_list(values):
        name, _, amount = item.partition("=")
        try:
            value = float(amount)
        except ValueError:
            value = -1.0
        if not name.strip() or value <= 0:
            raise BenchError(f"--resources takes NAME=AMOUNT with AMOUNT > 0 (e.g. --resources GPU=1), got {item!r}")
        out[name.strip()] = value
    return out


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
    "--seeds",
    multiple=True,
    metavar="LIST",
    help="Seeds: a list, ranges or both (0,1,2 / 0-4 / 0-2,5; default 0); each seed is a job per backend x cell.",
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
@device_option
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
@click.option(
    "--executor",
    type=click.Choice(EXECUTORS),
    default=None,
    help="local (default): one job at a time, each in a fresh process on this machine; dask: each job a task "
    "on a Dask cluster (--scheduler). See docs/executors.md.",
)
@click.option(
    "--scheduler",
    envvar=SCHEDULER_ENV,
    default=None,
    metavar="ADDRESS",
    help=f"The Dask scheduler for --executor dask, e.g. tcp://HOST:8786 (default: ${SCHEDULER_ENV}).",
)
@click.option(
    "--parallel",
    type=click.IntRange(min=2),
    default=None,
    metavar="N",
    help="Run N jobs at once on this machine (a Dask LocalCluster), each pinned to its own cores "
    "(--threads each; default: the cores / N). For accuracy sweeps: step times stay out of speed verdicts.",
)
@click.option(
    "--accuracy-only",
    is_flag=True,
    help="Step times of this run do not matter: it takes no machine lock, and its jobs are marked "
    "shared_machine (left out of speed verdicts).",
)
@click.option(
    "--no-wait",
    is_flag=True,
    help="When another timing run holds this machine, fail at once (exit 2) instead of waiting for it.",
)
@click.option(
    "--resources",
    multiple=True,
    metavar="NAME=N",
    help="Extra Dask resources every job asks for (--executor dask), e.g. GPU=1; comma list or repeated.",
)
@click.option("--quiet", is_flag=True, help="One line per epoch and per job instead of the live view.")
@click.pass_context
def run(
    ctx: click.Context,
    cells,
    backends,
    seeds,
    mode,
    data,
    train_limit,
    test_limit,
    threads,
    device,
    target_acc,
    results,
    name,
    resume,
    timeout_s,
    executor,
    scheduler,
    parallel,
    accuracy_only,
    no_wait,
    resources,
    quiet,
    config,
    **spec_fields,
) -> None:
    """Train the benchmark matrix and write one JSON record per job.

    Each job runs in a fresh process with its thread pools pinned; all jobs see the same prepared data and
    the same batches in the same order. A timing run holds this machine's timing lock (a second one waits).
    Exit code: 0 all jobs ok; 1 some job failed, timed out or was interrupted (the others are kept: finish
    with --resume RUN); 2 bad input; 128 + N when stopped by signal N (130: Ctrl-C, 143: SIGTERM).
    """
    overrides = pop_spec_overrides(spec_fields)
    spec = build_spec(config, overrides)
    on_command_line = ctx.get_parameter_source("scheduler") == ParameterSource.COMMANDLINE
    ex = executor_config(executor, scheduler, on_command_line, parallel, accuracy_only, no_wait, resources)
    cores = default_threads()
    if threads is None:
        threads = max(1, cores // parallel) if parallel else cores
    if parallel and parallel * threads > cores:
        raise BenchError(
            f"--parallel {parallel} with --threads {threads} needs {parallel * threads} cores; bench may use "
            f"{cores} here: lower --threads or --parallel"
        )
    run_config = RunConfig(
        spec=spec,
        backends=tuple(choose_backends(backends, ("keras", "torch"), device)),
        cells=tuple(choose("cell", cells, CELLS, CELLS)),
        seeds=parse_seeds(seeds),
        mode=mode,
        data=data,
        threads=threads,
        target_acc=target_acc,
        results=Path(results),
        name=name,
        train_limit=train_limit,
        test_limit=test_limit,
        timeout_s=timeout_s,
        command=shlex.join(["bench", *sys.argv[1:]]),
        executor=ex,
        device=device,
    )
    try:
        finished, statuses = start(run_config, lambda: make_progress(quiet), resume=resume)
    except KeyboardInterrupt as err:
        signum = getattr(err, "signum", 2)
        where = getattr(err, "run_path", None)
        how = f"bench run --resume {where.name} --results {where.parent}" if where else "bench run --resume NAME"
        click.echo(f"interrupted by {describe(signum)}: finished jobs are kept; finish the run with {how}", err=True)
        sys.exit(128 + signum)
    failed = [j for j in finished.manifest.jobs if j.status != "ok"]
    click.echo(f"run {finished.name}: {len(statuses)} job(s) run now, {len(failed)} not ok; folder {finished.path}")
    if failed:
        for j in failed:
            click.echo(f"  {j.job_id}: {j.status}: {j.error}", err=True)
        click.echo(f"finish it with: bench run --resume {finished.name} --results {finished.path.parent}", err=True)
        sys.exit(EXIT_JOBS_FAILED)
    click.echo(f"next: bench report {finished.path}")
