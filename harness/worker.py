"""One job in one fresh process: load the prepared data, build the backend, train on the harness's
batches, time every step, evaluate, and write the job record once, atomically.

Run as ``python -m harness.worker TASK.json`` by the runner, with thread-pinning environment variables
already set. Progress goes to stdout as ``EVENT_PREFIX + json`` lines; everything else (framework
chatter, tracebacks) goes to the job's log file.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
import time
import traceback
from typing import Any

import numpy as np

from backends.base import Backend, BackendOptions, parse_backend
from harness import calibration, derive
from harness.batches import batch_slices, epoch_orders, order_hash
from harness.environment import environment, is_busy, peak_rss_mb, sample_load
from harness.errors import BenchError
from harness.jobs import EVENT_PREFIX, Task
from harness.records import JOB_KIND, SCHEMA_VERSION, write_record
from harness.weights import initial_weights, weights_fingerprint

#: Step events are sent at most this often: enough for a live view, negligible cost in the loop.
_EVENT_INTERVAL_S = 0.5


class JobTimeout(Exception):
    """Raised in the worker when the runner's per-job timeout sends SIGTERM."""


def _raise_timeout(signum: int, frame: Any) -> None:
    raise JobTimeout()


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


def new_record(task: Task) -> dict[str, Any]:
    job, spec = task.job, task.spec
    return {
        "kind": JOB_KIND,
        "schema_version": SCHEMA_VERSION,
        "job_id": job.job_id,
        "run": task.run,
        "status": "failed",
        "error": None,
        "backend": job.backend,
        "cell": job.cell,
        "seed": job.seed,
        "mode": job.mode,
        "spec": spec.to_dict(),
        "spec_hash": spec.spec_hash,
        "data": None,
        "weights_fingerprint": None,
        "batch_order_hash": None,
        "params": None,
        "epochs": [],
        "steps": {"epoch": [], "time_s": [], "size": [], "loss": [], "acc": [], "warmup": []},
        "test": None,
        "target_acc": task.target_acc,
        "time_to_acc_s": None,
        "samples_per_s": None,
        "first_step_s": None,
        "startup_s": None,
        "peak_rss_mb": None,
        "calibration": {"start_s": [], "end_s": []},
        "load": {"start": None, "end": None, "busy": False},
        "environment": environment(task.threads, {}, task.command),
        "runtime": {},
    }


def read_runtime(backend: Backend, record: dict[str, Any]) -> None:
    """The backend's facts, read back from the framework, as the record's ``runtime``."""
    cls = type(backend)
    # Which class ran matters: a plugin may register a backend under a built-in name.
    record["runtime"] = {**backend.runtime_info(), "backend_class": f"{cls.__module__}:{cls.__qualname__}"}


def timeout_error(record: dict[str, Any]) -> str:
    """A job stopped before its first step finished ran out of time tracing/compiling, not training: say so
    (``runtime.compile_timeout``), so that a compile timeout is not read as a slow or crashed job."""
    if record["params"] is not None and not record["steps"]["time_s"]:
        record["runtime"]["compile_timeout"] = True
        return (
            "compile timeout: the first training step (where the engine traces and compiles) had not finished "
            "when the runner stopped the job at --timeout"
        )
    return "stopped by the runner: the job ran past --timeout"


def train(task: Task, record: dict[str, Any]) -> None:
    """Fill ``record`` in place as the job progresses (so an interrupted job keeps what it did)."""
    from harness.data import load_prepared  # the prepared arrays, fingerprint re-verified on load

    spec, job = task.spec, task.job
    record["load"]["start"] = sample_load()
    record["calibration"]["start_s"] = calibration.calibrate()

    ds = load_prepared(task.data_path)
    if ds.fingerprint != task.data_fingerprint:
        raise BenchError(f"prepared data {task.data_path} changed since the run started (fingerprint mismatch); rerun")
    record["data"] = ds.identity()

    weights = initial_weights(spec) if job.mode == "matched" else None
    record["weights_fingerprint"] = weights_fingerprint(weights) if weights is not None else None
    ref = parse_backend(job.backend)  # a variant (torch:flush_denormal=true) carries config options
    extra = {**task.backend_extra, **ref.options}
    backend = ref.backend_class()(BackendOptions(threads=task.threads, deterministic=True, extra=extra))
    backend.build(spec, weights, mode=job.mode, dtype="float32")
    record["params"] = int(backend.trainable_parameter_count())
    read_runtime(backend, record)
    record["environment"]["frameworks"] = dict(record["runtime"].get("versions", {}))
    record["startup_s"] = time.time() - task.spawned_at

    x_train, y_train = ds.x_train, ds.y_train
    n = len(y_train)
    slices = batch_slices(n, spec.batch_size)
    steps = record["steps"]
    orders: list[np.ndarray] = []
    emit("ready", params=record["params"], steps_per_epoch=len(slices), epochs=spec.epochs)

    perf = time.perf_counter
    last_event = 0.0
    for epoch, order in enumerate(epoch_orders(n, spec.epochs, spec.seed), start=1):
        orders.append(order)
        epoch_start, usage_start, start_time = perf(), resource.getrusage(resource.RUSAGE_SELF), time.time()
        step_total = 0.0
        loss_sum = acc_sum = 0.0
        for i, sl in enumerate(slices):
            idx = order[sl]
            xb, yb = x_train[idx], y_train[idx]  # gathered before the clock starts
            t0 = perf()
            result = backend.train_step(xb, yb)
            dt = perf() - t0
            size = len(idx)
            step_total += dt
            loss_sum += result.loss * size
            acc_sum += result.accuracy * size
            k = len(steps["time_s"])
            steps["epoch"].append(epoch)
            steps["time_s"].append(dt)
            steps["size"].append(size)
            steps["loss"].append(_finite_or_none(result.loss))
            steps["acc"].append(float(result.accuracy))
            steps["warmup"].append(k < task.warmup_steps)
            if k == 0:
                record["first_step_s"] = dt
                read_runtime(backend, record)  # XLA and compilation are decided in the first step
            now = t0 + dt
            if now - last_event >= _EVENT_INTERVAL_S:
                last_event = now
                emit("step", epoch=epoch, step=i + 1, loss=result.loss, acc=result.accuracy)
        train_s, usage = perf() - epoch_start, _usage_since(usage_start)

        eval_start = perf()
        val = backend.evaluate(ds.x_val, ds.y_val, spec.batch_size)
        eval_s = perf() - eval_start
        entry = {
            "epoch": epoch,
            "start_time": start_time,
            # Sample-weighted over the epoch's batches: what Keras' fit() reports as the epoch's loss.
            "train_loss": _finite_or_none(loss_sum / n),
            "train_acc": acc_sum / n,
            "val_loss": _finite_or_none(val.loss),
            "val_acc": float(val.accuracy),
            "train_s": train_s,
            "eval_s": eval_s,
            "step_s": step_total,
            "overhead_s": max(0.0, train_s - step_total),
            **usage,
        }
        record["epochs"].append(entry)
        emit("epoch", **entry)

    record["batch_order_hash"] = order_hash(orders)
    read_runtime(backend, record)  # e.g. recompilation for a last, smaller batch
    test = backend.evaluate(ds.x_test, ds.y_test, spec.batch_size)
    record["test"] = {"loss": _finite_or_none(test.loss), "acc": float(test.accuracy)}
    record["time_to_acc_s"] = derive.time_to_accuracy(record["epochs"], task.target_acc)
    record["samples_per_s"] = derive.throughput(record)
    record["status"] = "ok"


def finish(task: Task, record: dict[str, Any]) -> None:
    record["peak_rss_mb"] = peak_rss_mb()
    record["calibration"]["end_s"] = calibration.calibrate()
    record["load"]["end"] = sample_load()
    record["load"]["busy"] = is_busy(record["load"]["start"], record["load"]["end"])
    if record["data"] is None:  # failed before the data loaded: still a valid, self-describing record
        record["data"] = {
            "source": "",
            "source_hash": "",
            "fingerprint": task.data_fingerprint,
            "n_train": 0,
            "n_val": 0,
            "n_test": 0,
        }
    write_record(task.record_path, record)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m harness.worker TASK.json", file=sys.stderr)
        return 2
    task = Task.read(args[0])
    # The runner stops a job with SIGTERM on timeout and SIGINT on Ctrl-C; both unwind the training loop
    # so the record of what was done is still written, marked with the reason.
    signal.signal(signal.SIGTERM, _raise_timeout)
    record = new_record(task)
    code = 0
    try:
        train(task, record)
    except JobTimeout:
        record["status"], record["error"] = "timeout", timeout_error(record)
        code = 124
    except KeyboardInterrupt:
        record["status"], record["error"] = "interrupted", "interrupted by Ctrl-C"
        code = 130
    except BenchError as err:
        record["status"], record["error"] = "failed", str(err)
        code = 2
    except Exception as err:  # a crash inside a framework: keep the traceback in the job log
        traceback.print_exc()
        record["status"], record["error"] = "failed", f"{type(err).__name__}: {err}".splitlines()[0]
        code = 1
    try:
        finish(task, record)
    except (KeyboardInterrupt, JobTimeout):
        return code or 130
    emit(
        "done",
        status=record["status"],
        error=record["error"],
        test_acc=(record["test"] or {}).get("acc"),
        record=task.record_path,
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
