"""The default executor: one job at a time, each in a fresh process on this machine."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Sequence
from pathlib import Path

from harness.jobs import Task

from .base import Executor, JobSink
from .process import WorkerProcess


class LocalExecutor(Executor):
    def __init__(self) -> None:
        self.data_path: Path | None = None

    def ship_data(self, path: Path, fingerprint: str) -> None:
        self.data_path = path  # already on this machine

    def run(self, tasks: Sequence[Task], sink: JobSink, timeout_s: float | None) -> None:
        host = socket.gethostname()
        for task in tasks:
            job = task.job
            files = sink.files(job)
            sink.started(job, host)
            task = dataclasses.replace(task, data_path=str(self.data_path or task.data_path), executor="local")
            worker = WorkerProcess(task, files)
            try:
                worker.relay(lambda event, job=job: sink.event(job, event), timeout_s)
            finally:
                # Also when the run is being stopped: the record the worker wrote as it stopped is kept.
                sink.finished(job, worker.result(host))
                files.record.unlink(missing_ok=True)
