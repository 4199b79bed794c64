"""One worker process, as every executor starts it: ``python -m harness.worker TASK.json`` in a session of
its own, with its thread pools pinned through the environment.

The worker's stdout carries progress events (``EVENT_PREFIX`` lines); everything else it prints goes to
the job's log. A stop sends SIGTERM on a timeout and SIGINT otherwise (the worker then writes its record,
marked with the reason), and SIGKILL if it has not exited within ``STOP_GRACE_S``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.atomic import write_error
from harness.environment import worker_env
from harness.errors import BenchError
from harness.jobs import EVENT_PREFIX, Task
from harness.records import read_json

from .base import STOP_GRACE_S, JobResult

#: How often a running job checks its timeout and whether it was asked to stop.
POLL_S = 0.5


@dataclass(frozen=True)
class JobFiles:
    """Where one job's files are on the host that runs it."""

    task: Path
    record: Path
    log: Path
    log_name: str  # how messages point at the log: its place in the run folder


class WorkerProcess:
    """A started worker; ``relay`` until it exits, then ``result``."""

    def __init__(self, task: Task, files: JobFiles):
        self.files = files
        self.job_id = task.job.job_id
        self.stop_reason: str | None = None
        task = dataclasses.replace(task, record_path=str(files.record), spawned_at=time.time())
        try:
            for folder in {files.task.parent, files.record.parent, files.log.parent}:
                folder.mkdir(parents=True, exist_ok=True)
            files.record.unlink(missing_ok=True)  # a record left by an earlier attempt is not this job's
            self.log: IO[str] = open(files.log, "w", encoding="utf-8")  # noqa: SIM115 (closed in result())
        except OSError as err:
            raise write_error(err.filename or files.log, err) from None
        task.write(files.task)
        env = {**os.environ, **worker_env(task.threads), "PYTHONUNBUFFERED": "1"}
        self.started, self.cpu_started = time.monotonic(), time.process_time()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.worker", str(files.task)],
            stdout=subprocess.PIPE,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            # Its own session: a terminal's Ctrl-C reaches only the runner, which then stops the job in order.
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_read_lines, args=(self.proc.stdout, self.lines), daemon=True).start()

    def relay(
        self,
        on_event: Callable[[dict[str, Any]], None],
        timeout_s: float | None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        """Until the worker exits: pass its events on, keep its other output in the log, stop it at the
        timeout or when ``should_stop()`` says so. Any exception here (Ctrl-C too) stops the worker first."""
        deadline = self.started + timeout_s if timeout_s else None
        next_check = time.monotonic() + POLL_S
        try:
            while True:
                try:
                    line = self.lines.get(timeout=POLL_S)
                except queue.Empty:
                    line = ""
                if line is None:
                    return
                if line.startswith(EVENT_PREFIX):
                    try:
                        on_event(json.loads(line[len(EVENT_PREFIX) :]))
                    except ValueError:
                        pass
                elif line:
                    self.log.write(line)
                now = time.monotonic()
                if deadline is not None and now > deadline and self.stop_reason is None:
                    self.stop("timeout")
                if should_stop is not None and now >= next_check and self.stop_reason is None:
                    next_check = now + POLL_S
                    if should_stop():
                        self.stop("interrupted")
        except BaseException:
            self.stop("interrupted")
            raise

    def stop(self, reason: str) -> None:
        """Ask the worker's process group to stop; kill it if it has not within the grace period."""
        self.stop_reason = self.stop_reason or reason
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM if reason == "timeout" else signal.SIGINT)
            self.proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def result(self, host: str, with_log: bool = False) -> JobResult:
        """The job's outcome once the worker has exited: its record as written, or why there is none."""
        code = self.proc.wait()
        wall, cpu = time.monotonic() - self.started, time.process_time() - self.cpu_started
        self.log.close()
        log = _read_text(self.files.log) if with_log else None
        job_id = self.job_id
        try:
            record = read_json(self.files.record, "job record")
        except BenchError as err:
            status = self.stop_reason or "failed"
            reason = {"timeout": "ran past --timeout; ", "interrupted": "stopped; "}.get(status, "") + describe_exit(
                code
            )
            error = f"{reason}; no valid record ({err}); see {self.files.log_name}"
            return JobResult(job_id, status, error, None, wall, cpu, host, log)
        if not isinstance(record, dict):
            return JobResult(
                job_id, "failed", "the worker wrote a record that is not a JSON object", None, wall, cpu, host, log
            )
        return JobResult(job_id, str(record.get("status")), record.get("error"), record, wall, cpu, host, log)


def describe_exit(code: int) -> str:
    if code < 0:
        sig = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = " (out of memory? the kernel's OOM killer sends SIGKILL)" if -code == signal.SIGKILL else ""
        return f"worker killed by {sig}{hint}"
    return f"worker exited with code {code}"


def _read_lines(stream: IO[str], out: queue.Queue[str | None]) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        return f"(the job's log could not be read: {err})\n"
