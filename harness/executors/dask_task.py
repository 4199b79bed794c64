"""What runs on a Dask worker for one job: the same worker process as the local executor starts, in a
scratch folder of the Dask worker's own. The record and the log travel back to the client as the task's
result, so no shared filesystem is needed.

The client and its tasks talk through the scheduler: progress events on a topic of the run's own, and two
kinds of ``distributed.Event``: the run's stop flag (set on Ctrl-C; each task stops its worker process),
and a per-job claim, which turns the scheduler's retry of a job whose Dask worker died into a failure: a
job that ran partly on one machine is not silently run again on another (``--resume`` reruns it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.atomic import write_bytes
from harness.errors import BenchError
from harness.jobs import Task
from harness.machine_lock import Holder, timing_lock
from harness.manifest import now

from .base import JobResult
from .process import JobFiles, WorkerProcess


@dataclass(frozen=True)
class PreparedData:
    """The run's prepared data, scattered to every worker once."""

    fingerprint: str
    sha256: str  # of the .npz file's bytes, to catch damage in transit
    content: bytes | None  # the .npz file, for workers on other machines
    path: str | None = None  # or its path, for a LocalCluster on the client's machine


@dataclass(frozen=True)
class TaskOptions:
    token: str  # names the run's topic and events on the scheduler
    timeout_s: float | None
    timing: bool  # hold the host's timing lock while the job runs
    wait_for_lock: bool
    cpu_slots: dict[str, tuple[int, ...]] | None = None  # Dask worker name -> the CPUs its jobs get


def topic(token: str) -> str:
    return f"{token}-events"


def stop_event_name(token: str) -> str:
    return f"{token}-stop"


def claim_event_name(token: str, job_id: str) -> str:
    return f"{token}-claimed-{job_id}"


def run_job(task: Task, data: PreparedData, options: TaskOptions, log_name: str) -> JobResult:
    from distributed import Event, get_worker

    worker = get_worker()
    host = socket.gethostname()
    job_id = task.job.job_id

    def send(event: dict[str, Any]) -> None:
        worker.log_event(topic(options.token), {"job_id": job_id, **event})

    def not_run(status: str, error: str) -> JobResult:
        return JobResult(job_id, status, error, None, 0.0, None, host)

    claim = Event(claim_event_name(options.token, job_id))
    if claim.is_set():
        return not_run(
            "failed",
            "its Dask worker died mid-job (the scheduler's retry on another worker was refused, so that no job's "
            "figures mix two machines); bench run --resume reruns it",
        )
    claim.set()
    stop = Event(stop_event_name(options.token))
    if stop.is_set():
        return not_run("interrupted", "the run was stopped before this job started")
    cpus = options.cpu_slots.get(str(worker.name)) if options.cpu_slots else None
    root = Path(worker.local_directory) / "rnn-bench"
    try:
        root.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"{job_id}-", dir=root))
    except OSError as err:
        return not_run("failed", f"no scratch folder on Dask worker {worker.address} ({host}): {err}")
    try:
        data_path = materialize(data, root)
        lock = (
            timing_lock(
                Holder.this_process(task.run, now(), job_id),
                wait=options.wait_for_lock,
                on_wait=lambda text: send({"event": "message", "text": text}),
            )
            if options.timing
            else contextlib.nullcontext()
        )
        with lock:
            send({"event": "started", "host": host, "worker": worker.address, "cpus": cpus})
            files = JobFiles(workdir / "task.json", workdir / "record.json", workdir / "job.log", log_name)
            task = dataclasses.replace(task, data_path=str(data_path), executor="dask", cpus=cpus)
            process = WorkerProcess(task, files)
            process.relay(send, options.timeout_s, should_stop=stop.is_set)
            return process.result(host, with_log=True)
    except BenchError as err:
        return not_run("failed", f"on Dask worker {worker.address} ({host}): {err}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def materialize(data: PreparedData, root: Path) -> Path:
    """The prepared data as a file on this worker, written once per worker (the job's worker process
    checks its fingerprint when it loads it)."""
    if data.path is not None:
        return Path(data.path)
    path = root / f"data-{data.fingerprint[:16]}-{data.sha256[:16]}.npz"
    if not path.exists():
        assert data.content is not None
        if hashlib.sha256(data.content).hexdigest() != data.sha256:
            raise BenchError("the prepared data arrived damaged (its SHA-256 is not the client's); run again")
        write_bytes(path, data.content)
    return path
