"""One backend's side of ``bench parity``, in a fresh process of its own, and the parent's side that runs them.

Why a process per backend: ``KERAS_BACKEND`` is read once per process (keras on TensorFlow, on JAX and on
torch cannot share one), thread pools can be pinned once per process, and a framework must only be imported
by its own worker. The child (``python -m harness.parity_worker REQUEST.json``) imports its framework through
``backends.base`` only, runs ``harness.parity.collect_cell`` for every cell and writes the arrays to an .npz
(no pickle) beside the request; the parent compares them.

Exit codes of the child: 0 ok; 2 a one-line ``error: ...`` on stderr (bad input, missing framework); any
other: a crash, its traceback in the child's log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.atomic import atomic_open, write_json
from harness.environment import thread_env
from harness.errors import BenchError
from harness.parity import CellArrays, CellPlan, collect_cell
from harness.spec import Spec
from harness.weights import WEIGHT_NAMES

#: A child that does not stop within this long after SIGTERM is killed.
STOP_GRACE_S = 10.0
_POLL_S = 0.2


@dataclass(frozen=True)
class BackendResult:
    runtime: Mapping[str, Any]
    cells: Mapping[str, CellArrays]


# -- the file between child and parent --------------------------------------------------------------------
def write_result(path: str | Path, runtime: Mapping[str, Any], cells: Mapping[str, CellArrays]) -> None:
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {"runtime": dict(runtime), "cells": {}}
    for cell, a in cells.items():
        meta["cells"][cell] = {"param_count": a.param_count, "step_dtype": a.step_dtype, "stepped": a.final is not None}
        arrays[f"{cell}/probs"] = a.probs
        arrays[f"{cell}/losses"] = a.losses
        for what in ("loaded", "grads", "first", "final"):
            tensors = getattr(a, what)
            for name in WEIGHT_NAMES if tensors is not None else ():
                arrays[f"{cell}/{what}/{name}"] = np.asarray(tensors[name])
    arrays["meta"] = np.array(json.dumps(meta, default=str))
    with atomic_open(path, "wb") as handle:
        np.savez(handle, **arrays)


def read_result(path: str | Path) -> BackendResult:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        cells = {}
        for cell, m in meta["cells"].items():

            def tensors(what: str, cell: str = cell) -> dict[str, np.ndarray]:
                return {name: data[f"{cell}/{what}/{name}"] for name in WEIGHT_NAMES}

            cells[cell] = CellArrays(
                param_count=int(m["param_count"]),
                loaded=tensors("loaded"),
                probs=data[f"{cell}/probs"],
                grads=tensors("grads"),
                step_dtype=m["step_dtype"],
                losses=data[f"{cell}/losses"],
                first=tensors("first") if m["stepped"] else None,
                final=tensors("final") if m["stepped"] else None,
            )
    return BackendResult(meta["runtime"], cells)


# -- the child ----------------------------------------------------------------------------------------------
def child(request: Mapping[str, Any]) -> None:
    from backends.base import BackendOptions, parse_backend

    ref = parse_backend(request["backend"])
    options = BackendOptions(threads=int(request["threads"]), extra=ref.options, device=request.get("device", "cpu"))
    backend = ref.backend_class()(options)
    spec = Spec.from_dict(request["spec"])
    cells = {
        cell: collect_cell(backend, spec.replace(cell=cell), CellPlan(**plan), ref.label)
        for cell, plan in request["plans"].items()
    }
    write_result(request["out"], backend.runtime_info(), cells)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m harness.parity_worker REQUEST.json", file=sys.stderr)
        return 2
    try:
        child(json.loads(Path(args[0]).read_text(encoding="utf-8")))
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:
        traceback.print_exc()
        return 1
    return 0


# -- the parent ---------------------------------------------------------------------------------------------
@dataclass
class _Running:
    label: str
    proc: subprocess.Popen
    log: Path
    out: Path


def run_workers(
    labels: Sequence[str],
    spec: Spec,
    plans: Mapping[str, CellPlan],
    threads: int,
    jobs: int = 1,
    device: str = "cpu",
) -> dict[str, BackendResult]:
    """Run each backend's parity worker (``jobs`` at a time) and read back its arrays. The first failure
    stops the rest and is raised as a one-line BenchError; Ctrl-C or SIGTERM stops every child first."""
    env = {**os.environ, **thread_env(threads), "PYTHONUNBUFFERED": "1"}
    plan = {c: asdict(p) for c, p in plans.items()}
    request = {"spec": spec.to_dict(), "plans": plan, "threads": threads, "device": device}
    pending = list(enumerate(labels))
    running: list[_Running] = []
    results: dict[str, BackendResult] = {}
    with tempfile.TemporaryDirectory(prefix="rnn-bench-parity-") as tmp, _sigterm_as_interrupt():
        try:
            while pending or running:
                while pending and len(running) < max(1, jobs):
                    index, label = pending.pop(0)
                    running.append(_start(label, index, Path(tmp), env, request))
                time.sleep(_POLL_S)
                for job in [j for j in running if j.proc.poll() is not None]:
                    running.remove(job)
                    results[job.label] = _finish(job)
        finally:
            for job in running:
                _stop(job.proc)
    return {label: results[label] for label in labels}


def _start(label: str, index: int, tmp: Path, env: Mapping[str, str], request: Mapping[str, Any]) -> _Running:
    base = tmp / f"backend-{index}"
    out, log = base.with_suffix(".npz"), base.with_suffix(".log")
    write_json(base.with_suffix(".json"), {**request, "backend": label, "out": str(out)})
    with open(log, "w", encoding="utf-8") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.parity_worker", str(base.with_suffix(".json"))],
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env),
        )
    return _Running(label, proc, log, out)


def _finish(job: _Running) -> BackendResult:
    code = job.proc.returncode
    if code == 0 and job.out.exists():
        return read_result(job.out)
    lines = [line for line in job.log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    if code == 2 and errors:
        raise BenchError(errors[-1][len("error: ") :])
    last = lines[-1].strip() if lines else "no output"
    raise BenchError(f"backend {job.label!r} failed in its parity process (exit code {code}): {last}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so that the children are stopped, not orphaned (main thread only)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
