"""``bench run`` from the plan to the records: the one place that drives a run.

The runner never imports a framework. It connects the executor (``harness.executors``: local processes
one at a time, or Dask) first, so that a cluster that cannot be reached fails before any data is
prepared; a timing run then takes the machine's timing lock (``harness.machine_lock``); the data is
prepared once; the run folder (``harness.run_folder``) is created, or reopened with ``--resume``; and one
task per job goes to the executor. Whichever executor ran a job, the runner validates the record that
comes back and writes it, with the job's status, into the run folder.

A crash, hang (``timeout_s``) or out-of-memory kill of one job is recorded as a failed job and the others
carry on; ``--resume`` reruns only the jobs that are missing or not ok; Ctrl-C, SIGTERM and SIGHUP stop
cleanly (``harness.stop_signals``: finished jobs stay, the running ones are marked interrupted).
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .devices import require_gpu
from .errors import BenchError
from .executors import make_executor
from .executors.base import JobResult
from .executors.process import JobFiles
from .jobs import Job, Task
from .machine_lock import Holder, timing_lock
from .manifest import Manifest, session_of
from .plan import RunConfig
from .progress import Progress
from .records import JobRecord
from .run_folder import InvalidRecord, RunFolder, default_run_name
from .stop_signals import StopRequested, StopState, stop_on_signals


def start(
    config: RunConfig,
    progress_factory: Callable[[], Progress],
    resume: str | None = None,
    notify: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
) -> tuple[RunFolder, dict[str, str]]:
    """Create (or reopen with ``resume``) a run, then execute the jobs it still needs; returns the run
    folder and job_id -> final status of the jobs run now. ``notify`` gets the lines said before the
    progress display starts (waiting for the timing lock)."""
    with stop_on_signals() as stop:
        return _start(config, progress_factory, resume, notify, stop)


def _start(
    config: RunConfig,
    progress_factory: Callable[[], Progress],
    resume: str | None,
    notify: Callable[[str], None],
    stop: StopState,
) -> tuple[RunFolder, dict[str, str]]:
    folder: RunFolder | None = None
    if resume:
        folder = RunFolder.open(config.results, resume)
        config = folder.manifest.run_config(config, folder.path.parent)
        todo = [job for job in folder.jobs() if not folder.finished_ok(job)]
        if not todo:
            return folder, {}
        _require_gpu_here(config)  # the run's own --device
        name, path = folder.name, folder.path
    else:
        _require_gpu_here(config)  # --device gpu on a machine without one: one line, before anything is written
        name = config.name or default_run_name()
        path = RunFolder.check_new(config.results, name)  # fail fast, before preparing data
    session = session_of(config, socket.gethostname())
    try:
        with make_executor(config.executor, config.threads) as executor, _machine_lock(config, name, notify):
            info, ds = _prepare_data(config)
            if folder is None:
                folder = RunFolder.create(path, Manifest.new(config, name, info, session))
                todo = folder.jobs()
            else:
                _check_same_data(folder, info)
                folder.add_session(session)
            data_path = folder.write_prepared(ds)
            executor.ship_data(data_path, info["fingerprint"])
            recorder = RunRecorder(folder, progress_factory(), len(todo), stop)
            try:
                executor.run(make_tasks(folder, todo, config, data_path), recorder, config.timeout_s)
            except BaseException as err:
                recorder.abandon(stop.reason or f"the run stopped: {str(err) or type(err).__name__}")
                raise
            finally:
                recorder.close()
    except StopRequested as err:
        err.run_path = path  # the CLI names the run to resume
        raise
    if all(folder.finished_ok(job) for job in folder.jobs()):
        folder.remove_prepared()
    return folder, recorder.statuses


def _require_gpu_here(config: RunConfig) -> None:
    """``--device gpu`` where no GPU is visible: refused before any data is prepared, when the jobs run on
    this machine. On a Dask cluster they run elsewhere, so each job's engine decides on its own host."""
    ex = config.executor
    if ex.kind == "local" or ex.parallel:
        require_gpu(config.device)


def _machine_lock(
    config: RunConfig, name: str, notify: Callable[[str], None]
) -> contextlib.AbstractContextManager[Any]:
    """A timing run on this machine holds its timing lock throughout, data preparation included (it loads
    the machine too). Dask jobs take it on the host that runs them; accuracy-only runs need none."""
    ex = config.executor
    if ex.kind != "local" or not ex.timing:
        return contextlib.nullcontext()
    from .manifest import now

    return timing_lock(Holder.this_process(name, now()), wait=ex.wait_for_lock, on_wait=notify)


def _prepare_data(config: RunConfig) -> tuple[dict[str, Any], Any]:
    """Load (or build, cached) the dataset once in the parent, apply the limits, and describe it."""
    from .data import limit_dataset, load_dataset

    ds = load_dataset(config.spec, config.data, progress=True)
    ds = limit_dataset(ds, config.train_limit, config.test_limit, config.spec.validation_split)
    return ds.identity(), ds


def _check_same_data(folder: RunFolder, info: dict[str, Any]) -> None:
    recorded = folder.manifest.data["fingerprint"]
    if info["fingerprint"] != recorded:
        raise BenchError(
            f"the data for run {folder.name} now has fingerprint {info['fingerprint'][:12]}, not "
            f"{recorded[:12]}: the source changed, so the run cannot be resumed; start a new run"
        )


def make_tasks(folder: RunFolder, jobs: Sequence[Job], config: RunConfig, data_path: Path) -> list[Task]:
    return [
        Task(
            job=job,
            spec=config.spec.replace(cell=job.cell, seed=job.seed),
            run=folder.name,
            data_path=str(data_path),
            data_fingerprint=folder.manifest.data["fingerprint"],
            threads=config.threads,
            target_acc=config.target_acc,
            record_path=str(folder.record_path(job.job_id)),
            command=config.command,
            spawned_at=0.0,  # set when the process actually starts
            backend_extra=dict(config.backend_extra),
            executor=config.executor.kind,
            shared_machine=not config.executor.timing,
            device=config.device,
        )
        for job in jobs
    ]


def label(job: Job) -> str:
    return _label(job.backend, job.cell, job.seed)


def _label(backend: str, cell: str, seed: int) -> str:
    return f"{backend}/{cell}/seed {seed}"


class RunRecorder:
    """The runner's side of execution (a ``JobSink``): each job's status, host and record into the run
    folder, and its progress onto the display."""

    def __init__(self, folder: RunFolder, progress: Progress, total: int, stop: StopState):
        self.folder = folder
        self.progress = progress
        self.total = total
        self.stop = stop
        self.count = 0
        self.statuses: dict[str, str] = {}

    def files(self, job: Job) -> JobFiles:
        return self.folder.job_files(job)

    def started(self, job: Job, host: str) -> None:
        self.count += 1
        self.folder.update_job(job.job_id, status="running", host=host, error=None)
        self.progress.job_started(self.count, self.total, label(job), host)

    def event(self, job: Job, event: dict[str, Any]) -> None:
        self.progress.event(label(job), event)

    def message(self, text: str) -> None:
        self.progress.message(text)

    def finished(self, job: Job, result: JobResult) -> None:
        status, error, record = result.status, result.error, result.record
        if result.log is not None:
            self.folder.write_log(job.job_id, result.log)
        if status == "interrupted" and self.stop.reason:
            # The worker only knows it was stopped; the runner knows why.
            error = self.stop.reason if record is not None else f"{self.stop.reason}; {error}"
            record = None if record is None else {**record, "error": self.stop.reason}
        stored = None
        if record is not None:
            try:
                stored = self.folder.write_record(job.job_id, record)
            except InvalidRecord as err:
                status = "failed"
                error = f"its worker wrote an invalid record ({err}); see {self.files(job).log_name}"
        self.folder.update_job(
            job.job_id,
            status=status,
            error=error,
            wall_s=round(result.wall_s, 3),
            runner_cpu_s=None if result.runner_cpu_s is None else round(result.runner_cpu_s, 3),
            host=result.host,
        )
        self.statuses[job.job_id] = status
        summary = _summary(stored, result.wall_s) if stored is not None and status == "ok" else error or status
        self.progress.job_finished(label(job), status, summary)

    def abandon(self, reason: str) -> None:
        """After the executor has stopped: a job still marked running never came back, so it was interrupted."""
        for entry in self.folder.manifest.jobs:
            if entry.status == "running":
                with contextlib.suppress(BenchError):  # e.g. a full disk: the original error is the news
                    self.folder.update_job(entry.job_id, status="interrupted", error=reason)
                self.statuses[entry.job_id] = "interrupted"
                self.progress.job_finished(_label(entry.backend, entry.cell, entry.seed), "interrupted", reason)

    def close(self) -> None:
        self.progress.close()


def _summary(record: JobRecord, wall: float) -> str:
    from . import derive, stats  # scipy is slow to import: keep it off every `bench` call's path

    steps = stats.summarize(derive.timed_steps(record))
    best = max((e.val_acc for e in record.epochs), default=float("nan"))
    busy = " [machine was busy: timings suspect]" if record.load.busy else ""
    test_acc = record.test.acc if record.test else float("nan")
    return (
        f"test_acc {test_acc:.4f}, best val_acc {best:.4f}, "
        f"median step {steps.median * 1000:.1f} ms, {wall:.0f} s{busy}"
    )
