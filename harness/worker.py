"""One job in one fresh process: load the prepared data, build the backend, train on the harness's
batches, time every step, evaluate, and write the job record once, atomically.

Run as ``python -m harness.worker TASK.json`` by the runner, with thread-pinning environment variables
already set. Progress goes to stdout as ``EVENT_PREFIX + json`` lines; everything else (framework
chatter, tracebacks) goes to the job's log file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import signal
import sys
import threading
import time
import traceback
from typing import Any

import numpy as np

from backends.base import Backend, BackendOptions, parse_backend
from harness import calibration, derive, inject
from harness.batches import batch_slices, epoch_orders, order_hash
from harness.devices import cuda_index, smi_gpu_facts
from harness.environment import environment, is_busy, peak_rss_mb, sample_load
from harness.errors import BenchError
from harness.execution import execution_here, pin_to_cpus
from harness.jobs import EVENT_PREFIX, Task
from harness.records import (
    DataIdentity,
    Environment,
    EpochRecord,
    GpuInfo,
    JobRecord,
    LoadSample,
    Metrics,
    write_record,
)
from harness.step import run_step
from harness.weights import initial_weights, weights_difference, weights_fingerprint

#: Step events are sent at most this often: enough for a live view, negligible cost in the loop.
_EVENT_INTERVAL_S = 0.5
#: How often the worker checks that the process that started it is still there.
_PARENT_POLL_S = 1.0


class JobTimeout(BaseException):
    """Raised in the worker when the runner's per-job timeout sends SIGTERM. A BaseException, as
    KeyboardInterrupt is: frameworks catch and wrap Exception (torch.compile re-raises anything raised while
    inductor compiles as BackendCompilerFailed), and a timeout must stay a timeout."""


def _caused_by_timeout(err: BaseException) -> bool:
    """Whether a JobTimeout is anywhere in ``err``'s chain (a framework that wrapped it anyway)."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, JobTimeout):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


def _raise_timeout(signum: int, frame: Any) -> None:
    raise JobTimeout()


class ParentWatch:
    """Stops this worker (as Ctrl-C would) when the process that started it dies: the worker runs in a
    session of its own, so nothing else would stop it, and it would train on and write its record after
    the run has moved on (a runner killed with SIGKILL, a Dask worker process that died)."""

    def __init__(self) -> None:
        self.parent = os.getppid()
        self.lost = False
        threading.Thread(target=self._watch, name="parent-watch", daemon=True).start()

    def _watch(self) -> None:
        while os.getppid() == self.parent:
            time.sleep(_PARENT_POLL_S)
        self.lost = True
        os.kill(os.getpid(), signal.SIGINT)


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(EVENT_PREFIX + json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _usage_since(start: resource.struct_rusage) -> dict[str, Any]:
    """CPU time (all threads) and minor page faults of this process since ``start``: where a step's time
    went besides computing (system time and faults rise when memory goes back to the kernel every step)."""
    now = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_user_s": now.ru_utime - start.ru_utime,
        "cpu_sys_s": now.ru_stime - start.ru_stime,
        "minor_faults": now.ru_minflt - start.ru_minflt,
    }


def new_record(task: Task, cpus: tuple[int, ...] | None = None) -> JobRecord:
    """The record of a job that has not started yet: failed until ``train`` says otherwise."""
    job, spec = task.job, task.spec
    return JobRecord(
        job_id=job.job_id,
        run=task.run,
        backend=job.backend,
        cell=job.cell,
        seed=job.seed,
        mode=job.mode,
        spec=spec.to_dict(),
        spec_hash=spec.spec_hash,
        target_acc=task.target_acc,
        environment=Environment(**environment(task.threads, {}, task.command)),
        execution=execution_here(task.executor, task.shared_machine, cpus),
        runtime={"device_requested": task.device},  # what was asked for, even if the job fails early
    )


def check_built_weights(name: str, backend: Backend, weights: dict[str, np.ndarray] | None, record: JobRecord) -> None:
    """Record the fingerprint of the weights the backend actually holds after ``build`` (exported in the
    canonical layout), beside the intended one. In matched mode they must be equal: a conversion that
    loads the weights wrongly would otherwise still carry the intended fingerprint."""
    built = backend.get_weights()
    record.weights_fingerprint_built = weights_fingerprint(built)
    if weights is None or record.weights_fingerprint_built == record.weights_fingerprint:
        return
    raise BenchError(
        f"backend {name!r} does not hold the initial weights it was given (weights fingerprint built "
        f"{record.weights_fingerprint_built[:12]}, intended {record.weights_fingerprint[:12]}: "
        f"{weights_difference(weights, built)}); its conversion to the framework's layout is wrong "
        "(bench parity shows where)"
    )


def read_runtime(backend: Backend, record: JobRecord) -> None:
    """The backend's facts, read back from the framework, into the record's ``runtime`` (keys the worker
    added, e.g. an injected slowdown, are kept)."""
    cls = type(backend)
    # Which class ran matters: a plugin may register a backend under a built-in name.
    backend_class = f"{cls.__module__}:{cls.__qualname__}"
    record.runtime = {**record.runtime, **backend.runtime_info(), "backend_class": backend_class}


def gpu_info(backend: Backend, device: Any) -> GpuInfo | None:
    """The GPU the job trained on: what its framework says, with nvidia-smi filling in the rest (the driver,
    and whatever the framework does not report); None on the CPU."""
    index = cuda_index(str(device) if device is not None else None)
    framework = backend.gpu_info()
    if index is None or framework is None:
        return None
    facts = {**smi_gpu_facts(index), **{k: v for k, v in framework.items() if v is not None}}
    # Each framework reports in its own types (a tuple, an int, a numpy float): the record's are fixed.
    kinds = {f.name: (float if f.name == "memory_mb" else str) for f in dataclasses.fields(GpuInfo)}
    return GpuInfo(**{k: kinds[k](v) for k, v in facts.items() if k in kinds})


def timeout_error(record: JobRecord) -> str:
    """A job stopped before its first step finished ran out of time tracing/compiling, not training: say so
    (``runtime.compile_timeout``), so that a compile timeout is not read as a slow or crashed job."""
    if record.params is not None and not len(record.steps):
        # No step ran, so no kernel path did: the facts read after build stay, the path is unknown.
        record.runtime.update(compile_timeout=True, kernel_path=None)
        return (
            "compile timeout: the first training step (where the engine traces and compiles) had not finished "
            "when the runner stopped the job at --timeout"
        )
    return "stopped by the runner: the job ran past --timeout"


def train(task: Task, record: JobRecord) -> None:
    """Fill ``record`` in place as the job progresses (so an interrupted job keeps what it did)."""
    from harness.data import load_prepared  # the prepared arrays, fingerprint re-verified on load

    spec, job = task.spec, task.job
    slowdown = inject.requested(os.environ)  # bench check calibrate's slowed runs only
    record.load.start = LoadSample(**sample_load())
    record.calibration.start_s = calibration.calibrate()

    ds = load_prepared(task.data_path)
    if ds.fingerprint != task.data_fingerprint:
        raise BenchError(f"prepared data {task.data_path} changed since the run started (fingerprint mismatch); rerun")
    record.data = DataIdentity(**ds.identity())

    weights = initial_weights(spec) if job.mode == "matched" else None
    record.weights_fingerprint = weights_fingerprint(weights) if weights is not None else None
    ref = parse_backend(job.backend)  # a variant (torch:flush_denormal=true) carries config options
    extra = {**task.backend_extra, **ref.options}
    options = BackendOptions(threads=task.threads, deterministic=True, extra=extra, device=task.device)
    backend = ref.backend_class()(options)
    try:
        _train(task, record, backend, ds, weights, slowdown)
    finally:
        record.peak_device_mb = _peak_device_mb(backend)


def _peak_device_mb(backend: Backend) -> float | None:
    try:
        return backend.peak_device_memory_mb()
    except Exception:  # a device in an error state (e.g. after running out of memory) has no figure to give
        traceback.print_exc()
        return None


def _train(task: Task, record: JobRecord, backend: Backend, ds: Any, weights: Any, slowdown: float) -> None:
    spec, job = task.spec, task.job
    backend.reset_device_memory()  # the job's peak: model, optimizer state and every step
    backend.build(spec, weights, mode=job.mode, dtype="float32")
    check_built_weights(job.backend, backend, weights, record)
    record.params = int(backend.trainable_parameter_count())
    read_runtime(backend, record)
    record.environment.frameworks = dict(record.runtime.get("versions", {}))
    record.environment.gpu = gpu_info(backend, record.runtime.get("device"))
    if slowdown:
        injected = record.runtime[inject.RECORD_KEY] = {"fraction": slowdown, "step_s": [], "wait_s": []}
    record.startup_s = time.time() - task.spawned_at

    x_train, y_train = ds.x_train, ds.y_train
    n = len(y_train)
    slices = batch_slices(n, spec.batch_size)
    steps = record.steps
    orders: list[np.ndarray] = []
    emit("ready", params=record.params, steps_per_epoch=len(slices), epochs=spec.epochs)

    perf = time.perf_counter
    last_event = 0.0
    for epoch, order in enumerate(epoch_orders(n, spec.epochs, spec.seed), start=1):
        orders.append(order)
        epoch_start, usage_start, start_time = perf(), resource.getrusage(resource.RUSAGE_SELF), time.time()
        step_total = 0.0
        loss_sum = acc_sum = 0.0
        for i, sl in enumerate(slices):
            idx = order[sl]
            xb, yb = x_train[idx], y_train[idx]  # gathered on the host before the clock starts
            t0 = perf()
            result = run_step(backend, xb, yb)  # host batch in, loss back on the host (docs/methodology.md)
            if slowdown:
                injected["step_s"].append(perf() - t0)
                injected["wait_s"].append(inject.busy_wait(slowdown * injected["step_s"][-1]))
            dt = perf() - t0
            size = len(idx)
            step_total += dt
            loss_sum += result.loss * size
            acc_sum += result.accuracy * size
            k = len(steps)
            steps.append(epoch, dt, size, _finite_or_none(result.loss), float(result.accuracy), k < task.warmup_steps)
            if k == 0:
                record.first_step_s = dt
                read_runtime(backend, record)  # XLA and compilation are decided in the first step
            now = t0 + dt
            if now - last_event >= _EVENT_INTERVAL_S:
                last_event = now
                emit("step", epoch=epoch, step=i + 1, loss=result.loss, acc=result.accuracy)
        train_s, usage = perf() - epoch_start, _usage_since(usage_start)

        eval_start = perf()
        val = backend.evaluate(ds.x_val, ds.y_val, spec.batch_size)
        eval_s = perf() - eval_start
        entry = EpochRecord(
            epoch=epoch,
            start_time=start_time,
            # Sample-weighted over the epoch's batches: what Keras' fit() reports as the epoch's loss.
            train_loss=_finite_or_none(loss_sum / n),
            train_acc=acc_sum / n,
            val_loss=_finite_or_none(val.loss),
            val_acc=float(val.accuracy),
            train_s=train_s,
            eval_s=eval_s,
            step_s=step_total,
            overhead_s=max(0.0, train_s - step_total),
            **usage,
        )
        record.epochs.append(entry)
        emit("epoch", **dataclasses.asdict(entry))

    record.batch_order_hash = order_hash(orders)
    read_runtime(backend, record)  # e.g. recompilation for a last, smaller batch
    test = backend.evaluate(ds.x_test, ds.y_test, spec.batch_size)
    record.test = Metrics(loss=_finite_or_none(test.loss), acc=float(test.accuracy))
    record.time_to_acc_s = derive.time_to_accuracy(record.epochs, task.target_acc)
    record.samples_per_s = derive.throughput(record)
    record.status = "ok"


def finish(task: Task, record: JobRecord) -> None:
    record.peak_rss_mb = peak_rss_mb()
    record.calibration.end_s = calibration.calibrate()
    end = sample_load()
    record.load.end = LoadSample(**end)
    start = dataclasses.asdict(record.load.start) if record.load.start else None
    record.load.busy = is_busy(start, end)
    if record.data is None:  # failed before the data loaded: still a valid, self-describing record
        record.data = DataIdentity("", "", task.data_fingerprint, 0, 0, 0)
    write_record(task.record_path, record)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m harness.worker TASK.json", file=sys.stderr)
        return 2
    task = Task.read(args[0])
    # Before any framework starts its thread pools, so that they inherit the CPUs.
    cpus = pin_to_cpus(task.cpus) if task.cpus else None
    # The runner stops a job with SIGTERM on timeout and SIGINT when the run is stopped (Ctrl-C, SIGTERM,
    # SIGHUP); both unwind the training loop so the record of what was done is still written, marked with
    # the reason.
    signal.signal(signal.SIGTERM, _raise_timeout)
    # Explicitly: a process that ignores SIGINT (some Dask worker processes do) passes that on to its children.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parent = ParentWatch()
    record = new_record(task, cpus)
    code = 0
    try:
        train(task, record)
    except JobTimeout:
        record.status, record.error = "timeout", timeout_error(record)
        code = 124
    except KeyboardInterrupt:
        record.status = "interrupted"
        record.error = (
            "stopped: the process that started it died" if parent.lost else "interrupted: the run was stopped"
        )
        code = 130
    except BenchError as err:
        record.status, record.error = "failed", str(err)
        code = 2
    except Exception as err:  # a crash inside a framework: keep the traceback in the job log
        traceback.print_exc()
        if _caused_by_timeout(err):
            record.status, record.error = "timeout", timeout_error(record)
            code = 124
        else:
            record.status, record.error = "failed", f"{type(err).__name__}: {err}".splitlines()[0]
            code = 1
    # Finishing takes a second or two (the end calibration, the record): a stop now would lose the record
    # of a job that has trained, so stop signals wait until it is written.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    finish(task, record)
    emit(
        "done",
        status=record.status,
        error=record.error,
        test_acc=record.test.acc if record.test else None,
        record=task.record_path,
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
