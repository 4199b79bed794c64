"""The benchmark matrix: every (backend x cell x seed) job in its own fresh process, one after another.

Design (optimum-benchmark style): the runner never imports a framework; it prepares the data once, writes
a task file per job, and starts ``python -m harness.worker TASK`` with thread pools pinned through the
environment. A crash, hang (``timeout_s``) or out-of-memory kill of one job is recorded in the manifest as
a failed job and the others carry on; ``resume`` reruns only jobs that are missing or not ok; Ctrl-C stops
cleanly (finished jobs stay, the running one is marked interrupted).
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .atomic import ensure_writable_dir, write_json
from .environment import worker_env
from .errors import BenchError
from .jobs import EVENT_PREFIX, Job, Task
from .progress import Progress
from .records import RUN_KIND, SCHEMA_VERSION, JobRecord, read_json, read_record
from .spec import Spec

#: After SIGTERM/SIGINT a worker gets this long to write its record before it is killed.
STOP_GRACE_S = 20.0
PREPARED_FILE = "data.npz"


@dataclass(frozen=True)
class RunConfig:
    spec: Spec
    backends: tuple[str, ...]
    cells: tuple[str, ...]
    seeds: tuple[int, ...]
    mode: str
    data: str | None
    threads: int
    target_acc: float
    results: Path
    name: str | None = None
    train_limit: int | None = None
    test_limit: int | None = None
    timeout_s: float | None = None
    command: str = "bench run"
    backend_extra: dict[str, Any] = field(default_factory=dict)


def plan(backends: Sequence[str], cells: Sequence[str], seeds: Sequence[int], mode: str) -> list[Job]:
    """Cell-major order, so the two backends of one cell run back to back under the most similar
    machine conditions."""
    return [Job(b, c, s, mode) for c in cells for s in seeds for b in backends]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_run_name() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


class Run:
    """A run folder: manifest.json, tasks/, jobs/ (records), logs/, and the prepared data while needed."""

    def __init__(self, path: Path, manifest: dict[str, Any]):
        self.path = path
        self.manifest = manifest

    @property
    def name(self) -> str:
        return self.manifest["name"]

    def save(self) -> None:
        self.manifest["updated_at"] = _now()
        write_json(self.path / "manifest.json", self.manifest)

    def job_entry(self, job_id: str) -> dict[str, Any]:
        return next(j for j in self.manifest["jobs"] if j["job_id"] == job_id)

    def set_status(
        self,
        job_id: str,
        status: str,
        error: str | None = None,
        wall_s: float | None = None,
        runner_cpu_s: float | None = None,
    ) -> None:
        entry = self.job_entry(job_id)
        entry.update(status=status, error=error, wall_s=wall_s, runner_cpu_s=runner_cpu_s)
        self.save()

    def jobs(self) -> list[Job]:
        mode = self.manifest["matrix"]["mode"]
        return [Job(j["backend"], j["cell"], j["seed"], mode) for j in self.manifest["jobs"]]

    def finished_ok(self, job: Job) -> bool:
        """A job counts as done only if the manifest says ok AND its record reads back valid and ok."""
        entry = self.job_entry(job.job_id)
        if entry["status"] != "ok":
            return False
        try:
            return read_record(self.path / entry["record"]).ok
        except BenchError:
            return False


def create_run(config: RunConfig, data_info: dict[str, Any]) -> Run:
    results = ensure_writable_dir(config.results, "results folder")
    name = config.name or default_run_name()
    path = results / name
    if (path / "manifest.json").exists():
        raise BenchError(
            f"run {name!r} already exists in {results}; resume it with --resume {name} or pick another --name"
        )
    jobs = plan(config.backends, config.cells, config.seeds, config.mode)
    manifest = {
        "kind": RUN_KIND,
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "created_at": _now(),
        "updated_at": _now(),
        "command": config.command,
        "spec": config.spec.to_dict(),
        "matrix": {
            "backends": list(config.backends),
            "cells": list(config.cells),
            "seeds": list(config.seeds),
            "mode": config.mode,
        },
        "data": data_info,
        "data_request": {"data": config.data, "train_limit": config.train_limit, "test_limit": config.test_limit},
        "threads": config.threads,
        "target_acc": config.target_acc,
        "timeout_s": config.timeout_s,
        "backend_extra": dict(config.backend_extra),
        "jobs": [
            {
                "job_id": j.job_id,
                "backend": j.backend,
                "cell": j.cell,
                "seed": j.seed,
                "status": "pending",
                "record": f"jobs/{j.job_id}.json",
                "error": None,
                "wall_s": None,
                "runner_cpu_s": None,
            }
            for j in jobs
        ],
    }
    run = Run(path, manifest)
    run.save()
    return run


def open_run(results: Path, name: str) -> Run:
    path = Path(name) if Path(name).is_dir() else Path(results) / name
    manifest = read_json(path / "manifest.json", "run manifest")
    if manifest.get("kind") != RUN_KIND or manifest.get("schema_version") != SCHEMA_VERSION:
        raise BenchError(f"{path} is not a run of this rnn-bench version; start a new run instead of --resume")
    ensure_writable_dir(path, "run folder")
    return Run(path, manifest)


@dataclass
class JobOutcome:
    status: str
    error: str | None
    wall_s: float
    summary: str
    #: CPU the runner itself (this process, all its threads, not the worker) used while the job ran: the
    #: evidence that the parent does not compete with the worker for the machine's cores.
    runner_cpu_s: float


def _reader(stream, out: queue.Queue[str | None]) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


def _describe_exit(code: int) -> str:
    if code < 0:
        sig = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = " (out of memory? the kernel's OOM killer sends SIGKILL)" if -code == signal.SIGKILL else ""
        return f"worker killed by {sig}{hint}"
    return f"worker exited with code {code}"


def run_job(run: Run, task: Task, on_event: Callable[[dict[str, Any]], None], timeout_s: float | None) -> JobOutcome:
    """Start one worker, relay its events, enforce the timeout, and read back its record."""
    job = task.job
    task = dataclasses.replace(task, spawned_at=time.time())
    task_path = run.path / "tasks" / f"{job.job_id}.json"
    task.write(task_path)
    log_path = run.path / "logs" / f"{job.job_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **worker_env(task.threads), "PYTHONUNBUFFERED": "1"}
    started, cpu_started = time.monotonic(), time.process_time()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.worker", str(task_path)],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            # Its own session: Ctrl-C reaches only the runner, which then stops the job in order.
            start_new_session=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
        stop_reason = None
        deadline = started + timeout_s if timeout_s else None
        try:
            while True:
                wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
                try:
                    line = lines.get(timeout=wait)
                except queue.Empty:
                    line = ""
                if line is None:
                    break
                if line.startswith(EVENT_PREFIX):
                    try:
                        on_event(json.loads(line[len(EVENT_PREFIX) :]))
                    except ValueError:
                        pass
                elif line:
                    log.write(line)
                if deadline is not None and time.monotonic() > deadline and stop_reason is None:
                    stop_reason = "timeout"
                    _stop(proc, signal.SIGTERM)
        except KeyboardInterrupt:
            stop_reason = "interrupted"
            _stop(proc, signal.SIGINT)
            raise
        finally:
            code = proc.wait()
    wall, runner_cpu = time.monotonic() - started, time.process_time() - cpu_started
    record_path = Path(task.record_path)
    try:
        record = read_record(record_path)
    except BenchError as err:
        status = "timeout" if stop_reason == "timeout" else "failed"
        reason = "ran past --timeout" if stop_reason == "timeout" else _describe_exit(code)
        return JobOutcome(status, f"{reason}; no valid record ({err}); see {log_path}", wall, reason, runner_cpu)
    return JobOutcome(record.status, record.error, wall, _summary(record, wall), runner_cpu)


def _stop(proc: subprocess.Popen, sig: int) -> None:
    """Ask the worker's process group to stop; kill it if it has not within the grace period."""
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _summary(record: JobRecord, wall: float) -> str:
    from . import derive, stats  # scipy is slow to import: keep it off every `bench` call's path

    if not record.ok:
        return record.error or record.status
    steps = stats.summarize(derive.timed_steps(record))
    best = max((e.val_acc for e in record.epochs), default=float("nan"))
    busy = " [machine was busy: timings suspect]" if record.load.busy else ""
    return (
        f"test_acc {record.test.acc if record.test else float('nan'):.4f}, best val_acc {best:.4f}, "
        f"median step {steps.median * 1000:.1f} ms, {wall:.0f} s{busy}"
    )


def execute(run: Run, tasks: Sequence[Task], progress: Progress, timeout_s: float | None) -> dict[str, str]:
    """Run ``tasks`` in order; returns job_id -> final status. Ctrl-C marks the running job interrupted,
    saves the manifest and re-raises."""
    statuses: dict[str, str] = {}
    total = len(tasks)
    try:
        for k, task in enumerate(tasks, start=1):
            job = task.job
            label = f"{job.backend}/{job.cell}/seed {job.seed}"
            run.set_status(job.job_id, "running")
            progress.job_started(k, total, label)
            try:
                outcome = run_job(run, task, progress.event, timeout_s)
            except KeyboardInterrupt:
                run.set_status(job.job_id, "interrupted", "interrupted by Ctrl-C")
                progress.job_finished(label, "interrupted", "interrupted by Ctrl-C")
                raise
            run.set_status(
                job.job_id, outcome.status, outcome.error, round(outcome.wall_s, 3), round(outcome.runner_cpu_s, 3)
            )
            statuses[job.job_id] = outcome.status
            progress.job_finished(label, outcome.status, outcome.summary)
    finally:
        progress.close()
    return statuses


def _prepare_data(config: RunConfig) -> tuple[dict[str, Any], Any]:
    """Load (or build, cached) the dataset once in the parent, apply the limits, and describe it."""
    from .data import limit_dataset, load_dataset

    ds = load_dataset(config.spec, config.data, progress=True)
    ds = limit_dataset(ds, config.train_limit, config.test_limit, config.spec.validation_split)
    return ds.identity(), ds


def _write_prepared(run: Run, ds: Any) -> Path:
    from .data import save_prepared

    path = run.path / PREPARED_FILE
    if not path.exists():
        save_prepared(ds, path)
    return path


def make_tasks(run: Run, jobs: Sequence[Job], config: RunConfig, data_path: Path) -> list[Task]:
    base = Spec.from_dict(run.manifest["spec"])
    fingerprint = run.manifest["data"]["fingerprint"]
    return [
        Task(
            job=job,
            spec=base.replace(cell=job.cell, seed=job.seed),
            run=run.name,
            data_path=str(data_path),
            data_fingerprint=fingerprint,
            threads=config.threads,
            target_acc=float(run.manifest["target_acc"]),
            record_path=str(run.path / "jobs" / f"{job.job_id}.json"),
            command=run.manifest["command"],
            spawned_at=0.0,  # set by run_job when the process actually starts
            backend_extra=dict(run.manifest.get("backend_extra", {})),
        )
        for job in jobs
    ]


def start(
    config: RunConfig, progress_factory: Callable[[], Progress], resume: str | None = None
) -> tuple[Run, dict[str, str]]:
    """Create (or reopen with ``resume``) a run, then execute the jobs it still needs."""
    if resume:
        run = open_run(config.results, resume)
        m = run.manifest
        req = m.get("data_request", {})
        config = RunConfig(
            spec=Spec.from_dict(m["spec"]),
            backends=tuple(m["matrix"]["backends"]),
            cells=tuple(m["matrix"]["cells"]),
            seeds=tuple(m["matrix"]["seeds"]),
            mode=m["matrix"]["mode"],
            data=req.get("data"),
            threads=config.threads,
            target_acc=float(m["target_acc"]),
            results=run.path.parent,
            name=run.name,
            train_limit=req.get("train_limit"),
            test_limit=req.get("test_limit"),
            timeout_s=config.timeout_s,
            command=m["command"],
            backend_extra=dict(m.get("backend_extra", {})),
        )
        todo = [job for job in run.jobs() if not run.finished_ok(job)]
        if not todo:
            return run, {}
        info, ds = _prepare_data(config)
        if info["fingerprint"] != m["data"]["fingerprint"]:
            raise BenchError(
                f"the data for run {run.name} now has fingerprint {info['fingerprint'][:12]}, not "
                f"{m['data']['fingerprint'][:12]}: the source changed, so the run cannot be resumed; start a new run"
            )
    else:
        ensure_writable_dir(config.results, "results folder")  # fail fast, before preparing data
        info, ds = _prepare_data(config)
        run = create_run(config, info)
        todo = run.jobs()
    data_path = _write_prepared(run, ds)
    tasks = make_tasks(run, todo, config, data_path)
    statuses = execute(run, tasks, progress_factory(), config.timeout_s)
    if all(run.finished_ok(job) for job in run.jobs()):
        data_path.unlink(missing_ok=True)  # prepared arrays are only needed to resume
    return run, statuses
