"""The executor interface: how the runner hands jobs to an executor and hears back from it.

An executor moves tasks to worker processes (``python -m harness.worker``) and brings back what each
produced: a ``JobResult`` holding the record as the worker wrote it. It never writes into the run folder;
the runner's ``JobSink`` does that (validated, atomically), whichever executor ran the job.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from harness.jobs import Job, Task

if TYPE_CHECKING:
    from .process import JobFiles

#: After a stop (Ctrl-C, SIGTERM, a timeout) a worker gets this long to write its record before it is killed.
STOP_GRACE_S = 20.0


@dataclass(frozen=True)
class ExecutorConfig:
    kind: str = "local"  # "local": one job at a time in a fresh local process; "dask": a task per job
    scheduler: str | None = None  # dask: the scheduler's address (tcp://HOST:8786)
    parallel: int | None = None  # dask on a LocalCluster of this many workers on this machine
    accuracy_only: bool = False  # the run's step times are not meant for speed verdicts
    wait_for_lock: bool = True  # a timing run waits for the machine's timing lock (False: fail at once)
    resources: Mapping[str, float] = field(default_factory=dict)  # extra Dask resources per job (GPU=1)

    @property
    def timing(self) -> bool:
        """Whether the jobs' step times count: only then does a job need a machine to itself."""
        return not (self.accuracy_only or self.parallel)

    def describe(self) -> str:
        if self.parallel:
            return f"{self.parallel} jobs at a time on this machine"
        return f"dask scheduler {self.scheduler}" if self.kind == "dask" else "one job at a time on this machine"


@dataclass(frozen=True)
class JobResult:
    """What came back from one job: the record as its worker wrote it (``None`` when none was written)."""

    job_id: str
    status: str  # ok | failed | timeout | interrupted
    error: str | None
    record: dict[str, Any] | None
    wall_s: float
    runner_cpu_s: float | None  # CPU the process driving the worker used meanwhile (not the worker's)
    host: str
    log: str | None = None  # the job's log, when it is not in the run folder already (a remote worker)


class JobSink(Protocol):
    """The runner's side: the run folder, its manifest and the progress display. Called from one thread."""

    def files(self, job: Job) -> JobFiles:
        """Where a worker on this machine keeps the job's files (a remote worker uses its own scratch
        folder, and only ``log_name``, to point at the log in the run folder)."""
        ...

    def started(self, job: Job, host: str) -> None: ...
    def event(self, job: Job, event: dict[str, Any]) -> None: ...
    def message(self, text: str) -> None: ...
    def finished(self, job: Job, result: JobResult) -> None: ...


class Executor(abc.ABC):
    """Use as a context manager: entering connects (and fails fast, before any data is prepared)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        return None

    @abc.abstractmethod
    def ship_data(self, path: Path, fingerprint: str) -> None:
        """Make the prepared data at ``path`` available to every worker (once each)."""

    @abc.abstractmethod
    def run(self, tasks: Sequence[Task], sink: JobSink, timeout_s: float | None) -> None:
        """Run every task, reporting to ``sink``. On Ctrl-C (or another stop) the running jobs are stopped
        and reported as interrupted, the others are not started, and the KeyboardInterrupt propagates."""
