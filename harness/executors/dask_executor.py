"""The Dask executor (client side): every job is a task on a Dask distributed cluster.

- ``--scheduler ADDRESS``: an existing cluster. Timed jobs ask for the resource ``bench=1``, which each
  host's one worker offers (``dask worker ADDRESS --nworkers 1 --nthreads 1 --resources bench=1``), so a
  host runs one timed job at a time; on the host, the task also holds the machine's timing lock.
- ``--parallel N``: a LocalCluster of N single-thread workers on this machine, each pinning its jobs to a
  disjoint set of cores; step times are not for speed verdicts (the jobs are marked ``shared_machine``).

The prepared data is scattered to every worker once. A job's Dask worker dying marks the job failed
(``dask_task`` explains why it is not retried); Ctrl-C stops the running jobs and cancels the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.execution import cpu_slots
from harness.jobs import Job, Task

from .base import STOP_GRACE_S, Executor, ExecutorConfig, JobResult, JobSink
from .dask_task import PreparedData, TaskOptions, claim_event_name, run_job, stop_event_name, topic

#: How often the client looks for finished jobs, new events and lost workers.
POLL_S = 0.5
#: How often the client asks the scheduler whether the workers running jobs are still there.
LIVENESS_S = 1.0
#: The resource a timed job asks for; one unit per host.
BENCH_RESOURCE = "bench"


class DaskExecutor(Executor):
    def __init__(self, config: ExecutorConfig, threads: int):
        self.config = config
        self.threads = threads
        self.token = f"rnn-bench-{uuid.uuid4().hex[:12]}"
        self.client: Any = None
        self.cluster: Any = None
        self.data: Any = None
        self.slots: dict[str, tuple[int, ...]] | None = None
        self._quiet = contextlib.ExitStack()

    # ---- connection ------------------------------------------------------------------------------------

    def __enter__(self) -> DaskExecutor:
        try:
            import distributed
        except ImportError:
            raise BenchError("the dask executor needs the 'distributed' package: pip install distributed") from None
        self._quiet.enter_context(_quiet_logs())
        try:
            self._connect(distributed)
            self._check_workers()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _connect(self, distributed: Any) -> None:
        from dask import config as dask_config
        from dask.utils import parse_timedelta

        timeout = parse_timedelta(dask_config.get("distributed.comm.timeouts.connect"))
        if self.config.parallel:
            try:
                slots = cpu_slots(self.config.parallel, self.threads)
            except ValueError as err:
                raise BenchError(f"--parallel {self.config.parallel} with --threads {self.threads}: {err}") from None
            self.slots = {str(i): slot for i, slot in enumerate(slots)}
            # Threads, not processes: each job is a process of its own anyway, and a terminal's Ctrl-C
            # then reaches only this process, which stops the jobs in order.
            self.cluster = distributed.LocalCluster(
                n_workers=self.config.parallel, threads_per_worker=1, processes=False, dashboard_address=None
            )
            target: Any = self.cluster
        else:
            target = self.config.scheduler
        try:
            self.client = distributed.Client(target, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as err:
            raise BenchError(
                f"cannot reach the Dask scheduler at {self.config.scheduler} ({_one_line(err)}); start it "
                "(dask scheduler, then dask worker ADDRESS on each host) or fix --scheduler / RNN_BENCH_SCHEDULER"
            ) from None

    def _check_workers(self) -> None:
        """Fail now, not after hours of queued tasks, when no worker could ever run the jobs."""
        address = self.config.scheduler or "the LocalCluster"
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        if not workers:
            try:
                self.client.wait_for_workers(1, timeout=10)
            except TimeoutError:
                raise BenchError(
                    f"the Dask scheduler at {address} has no workers; start one on each host: dask worker "
                    f"{address} --nworkers 1 --nthreads 1 --resources {BENCH_RESOURCE}=1"
                ) from None
            workers = self.client.scheduler_info(n_workers=-1)["workers"]
        for name, amount in self.resources().items():
            if not any(w.get("resources", {}).get(name, 0) >= amount for w in workers.values()):
                hint = " (or run with --accuracy-only when step times do not matter)" if name == BENCH_RESOURCE else ""
                raise BenchError(
                    f"no Dask worker at {address} offers the resource {name}={amount:g} the jobs ask for; start "
                    f"the workers with --resources {name}={amount:g}{hint}"
                )
        if self.config.timing:
            per_host: dict[str, float] = defaultdict(float)
            for w in workers.values():
                per_host[w["host"]] += w.get("resources", {}).get(BENCH_RESOURCE, 0)
            crowded = {host: n for host, n in per_host.items() if n > 1}
            if crowded:
                host, n = next(iter(crowded.items()))
                raise BenchError(
                    f"host {host} offers {BENCH_RESOURCE}={n:g} across its Dask workers, so it would time {n:g} jobs "
                    f"at once; give {BENCH_RESOURCE}=1 to one worker per host (or run with --accuracy-only)"
                )

    def resources(self) -> dict[str, float]:
        extra = dict(self.config.resources)
        return {BENCH_RESOURCE: 1, **extra} if self.config.timing else extra

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            if self.client is not None:
                self.client.close()
        with contextlib.suppress(Exception):
            if self.cluster is not None:
                self.cluster.close()
        self.client = self.cluster = self.data = None
        self._quiet.close()

    # ---- data ------------------------------------------------------------------------------------------

    def ship_data(self, path: Path, fingerprint: str) -> None:
        if self.cluster is not None:  # a LocalCluster: the workers are on this machine
            data = PreparedData(fingerprint, "", None, str(path))
        else:
            content = path.read_bytes()
            data = PreparedData(fingerprint, hashlib.sha256(content).hexdigest(), content)
        # Workers that join later fetch it from a peer, once.
        self.data = self.client.scatter(data, broadcast=True, hash=False)

    # ---- running ---------------------------------------------------------------------------------------

    def run(self, tasks: Sequence[Task], sink: JobSink, timeout_s: float | None) -> None:
        from distributed import Event

        options = TaskOptions(self.token, timeout_s, self.config.timing, self.config.wait_for_lock, self.slots)
        tracker = _Tracker(sink, {task.job.job_id: task.job for task in tasks})
        self.client.subscribe_topic(topic(self.token), lambda event: tracker.inbox.put(("event", event[1])))
        stop = Event(stop_event_name(self.token), client=self.client)
        try:
            for index, task in enumerate(tasks):
                future = self.client.submit(
                    run_job,
                    task,
                    self.data,
                    options,
                    sink.files(task.job).log_name,
                    key=f"{self.token}-{task.job.job_id}",
                    resources=self.resources() or None,
                    # The plan's order (both backends of a cell back to back), not whatever the scheduler likes.
                    priority=len(tasks) - index,
                    pure=False,
                )
                tracker.submitted(future, task.job)
            next_liveness = time.monotonic() + LIVENESS_S
            while tracker.pending:
                tracker.pump(POLL_S)
                if tracker.running and time.monotonic() >= next_liveness:
                    next_liveness = time.monotonic() + LIVENESS_S
                    tracker.fail_lost(set(self.client.scheduler_info(n_workers=-1)["workers"]))
        except BaseException:
            self._stop(stop, tracker)
            raise
        finally:
            with contextlib.suppress(Exception):
                self.client.unsubscribe_topic(topic(self.token))
            self._forget_events([task.job.job_id for task in tasks], stop)

    def _stop(self, stop: Any, tracker: _Tracker) -> None:
        """Stop the running jobs (their worker processes write their records and stop), cancel the others,
        and report what comes back within the grace period."""
        with contextlib.suppress(Exception):
            stop.set()
        with contextlib.suppress(Exception):
            tracker.pump(0)
        queued = [f for f, job in tracker.pending.items() if job.job_id not in tracker.running]
        with contextlib.suppress(Exception):
            self.client.cancel(queued)
        for future in queued:
            tracker.pending.pop(future, None)
        deadline = time.monotonic() + STOP_GRACE_S + 5
        while tracker.pending and time.monotonic() < deadline:
            with contextlib.suppress(Exception):  # the run is already failing: report what can be reported
                tracker.pump(POLL_S)
        with contextlib.suppress(Exception):
            self.client.cancel(list(tracker.pending))

    def _forget_events(self, job_ids: list[str], stop: Any) -> None:
        """Clear the run's events on the scheduler, which keeps set events for as long as it runs."""
        from distributed import Event

        with contextlib.suppress(Exception):
            stop.clear()
            for job_id in job_ids:
                Event(claim_event_name(self.token, job_id), client=self.client).clear()


class _Tracker:
    """Turns what the cluster says (task events, finished futures; both arrive on other threads) into calls
    on the sink, in the calling thread, and knows which jobs run where."""

    def __init__(self, sink: JobSink, jobs: dict[str, Job]):
        self.sink = sink
        self.jobs = jobs
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.pending: dict[Any, Job] = {}  # future -> job, until its result is reported
        self.running: dict[str, tuple[str, str]] = {}  # job_id -> (Dask worker address, host)
        self.started: set[str] = set()

    def submitted(self, future: Any, job: Job) -> None:
        self.pending[future] = job
        future.add_done_callback(lambda f: self.inbox.put(("done", f)))

    def pump(self, timeout: float) -> None:
        """Handle what has arrived, waiting up to ``timeout`` for the first item."""
        try:
            item = self.inbox.get(timeout=timeout) if timeout > 0 else self.inbox.get_nowait()
        except queue.Empty:
            return
        while True:
            kind, value = item
            if kind == "done":
                self._done(value)
            else:
                self._event(value)
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                return

    def _event(self, event: dict[str, Any]) -> None:
        job = self.jobs.get(str(event.get("job_id")))
        if job is None or job not in self.pending.values():
            return  # late news of a job already reported
        kind = event.get("event")
        if kind == "started":
            self.running[job.job_id] = (str(event["worker"]), str(event["host"]))
            self._start(job, str(event["host"]))
        elif kind == "message":
            self.sink.message(f"{job.backend}/{job.cell}/seed {job.seed}: {event['text']}")
        elif job.job_id in self.running:
            self.sink.event(job, event)

    def _done(self, future: Any) -> None:
        job = self.pending.get(future)
        if job is not None:
            self._finish(future, job, _result(future, job, self.host_of(job)))

    def fail_lost(self, alive: set[str]) -> None:
        """A job whose Dask worker left the cluster failed: its worker process is gone with it."""
        for future, job in list(self.pending.items()):
            where = self.running.get(job.job_id)
            if where is None or where[0] in alive:
                continue
            future.cancel()
            address, host = where
            error = (
                f"its Dask worker {address} on {host} died or lost its connection mid-job; bench run --resume reruns it"
            )
            self._finish(future, job, JobResult(job.job_id, "failed", error, None, 0.0, None, host))

    def host_of(self, job: Job) -> str:
        return self.running.get(job.job_id, ("", "an unknown host"))[1]

    def _start(self, job: Job, host: str) -> None:
        if job.job_id not in self.started:
            self.started.add(job.job_id)
            self.sink.started(job, host)

    def _finish(self, future: Any, job: Job, result: JobResult) -> None:
        del self.pending[future]
        self._start(job, result.host)  # its start event may still be on its way, or it never started
        self.running.pop(job.job_id, None)
        self.sink.finished(job, result)


def _result(future: Any, job: Job, host: str) -> JobResult:
    try:
        return future.result()
    except Exception as err:  # the task itself failed (not the job): e.g. rnn-bench missing on the worker
        status = "interrupted" if future.cancelled() else "failed"
        return JobResult(job.job_id, status, f"the Dask task failed: {_one_line(err)}", None, 0.0, None, host)


def _one_line(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".strip()
    return text.splitlines()[0] if text else type(err).__name__


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """distributed logs connection retries and worker departures as warnings; the run reports those
    itself, in one line each."""
    loggers = [logging.getLogger(name) for name in ("distributed", "tornado")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
