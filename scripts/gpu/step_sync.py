"""Does a step end only when the device has finished it? The step-timing check of docs/gpu.md.

For each engine, in a process of its own: build the model on the device (``--device``), take a few warm-up
steps, then time steps exactly as the worker does (``perf_counter`` around ``harness.step.run_step``) and, right
after each, an explicit device synchronise (``Backend.synchronize``: ``torch.cuda.synchronize``, JAX's
``block_until_ready`` on the updated variables, TensorFlow's ``sync_devices``). A step that returned before
its kernels had finished would leave that work for the synchronise to wait for; a step that ends as
docs/methodology.md says leaves nothing, and the synchronise costs only its own call.

Exit 0 when, for every engine, the median wait is at most ``TOLERANCE_S + TOLERANCE_SHARE`` x the median
step; 1 when some engine's is not; 2 on bad input (no GPU for ``--device gpu``, an engine not installed).
One line per engine; ``--json`` prints the measurements. On the CPU every engine passes trivially (the tool's
own test runs it there); on a GPU it is the proof (``tests/gpu/test_step_sync.py``, run by the smoke script).

    python -m scripts.gpu.step_sync --engines torch,keras-jax --device gpu
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from harness.errors import BenchError
from harness.spec import Spec

#: What a synchronise after a finished step may cost: its own call (tens of microseconds for CUDA, up to
#: about a millisecond for TensorFlow's sync_devices, which runs an op of its own), with headroom ...
TOLERANCE_S = 2e-3
#: ... plus this share of a step: a step that returned early leaves most of its kernels to wait for.
TOLERANCE_SHARE = 0.05
WARMUP = 3
STEPS = 8


@dataclass(frozen=True)
class SyncResult:
    engine: str
    device: str  # what the engine trained on (runtime.device)
    cell: str
    step_s: list[float]  # perf_counter around the step
    wait_s: list[float]  # perf_counter around the synchronise right after it

    @property
    def median_step_s(self) -> float:
        return float(np.median(self.step_s))

    @property
    def median_wait_s(self) -> float:
        return float(np.median(self.wait_s))

    @property
    def limit_s(self) -> float:
        return TOLERANCE_S + TOLERANCE_SHARE * self.median_step_s

    @property
    def passed(self) -> bool:
        return self.median_wait_s <= self.limit_s

    def line(self) -> str:
        verdict = "ok" if self.passed else "FAIL: the step returned before the device had finished"
        return (
            f"{self.engine:<14} {self.cell:<9} on {self.device:<7} median step {self.median_step_s * 1e3:9.3f} ms, "
            f"synchronise after it {self.median_wait_s * 1e3:8.3f} ms (limit {self.limit_s * 1e3:.3f} ms): {verdict}"
        )


def measure(engine: str, device: str, spec: Spec, warmup: int = WARMUP, steps: int = STEPS) -> SyncResult:
    """In this process: the engine's steps and the synchronise after each (matched mode, float32)."""
    from backends.base import BackendOptions, load_backend
    from harness.parity import parity_batches
    from harness.step import run_step
    from harness.weights import initial_weights

    backend = load_backend(engine)(BackendOptions(threads=1, device=device))
    backend.build(spec, initial_weights(spec), mode="matched", dtype="float32")
    batches = parity_batches(spec, warmup + steps, spec.seed)
    step_s, wait_s = [], []
    for k, (x, y) in enumerate(batches):
        t0 = time.perf_counter()
        run_step(backend, x, y)
        t1 = time.perf_counter()
        backend.synchronize()
        t2 = time.perf_counter()
        if k >= warmup:
            step_s.append(t1 - t0)
            wait_s.append(t2 - t1)
    return SyncResult(engine, str(backend.runtime_info().get("device")), spec.cell, step_s, wait_s)


def run_engine(engine: str, device: str, spec: Spec, timeout_s: float) -> SyncResult:
    """``measure`` in a fresh process (KERAS_BACKEND and thread pools are per process)."""
    argv = [sys.executable, "-m", "scripts.gpu.step_sync", "--child", engine, "--device", device, "--spec"]
    try:
        done = subprocess.run(
            [*argv, json.dumps(spec.to_dict())], capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{engine}: no result within {timeout_s:.0f} s") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise BenchError(f"{engine}: exit code {done.returncode}: {lines[-1] if lines else 'no output'}")
    return SyncResult(**json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.gpu.step_sync", description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="torch", help="comma list of engines (default: torch)")
    parser.add_argument("--device", default="gpu", choices=("cpu", "gpu", "auto"))
    parser.add_argument("--cell", default="lstm", choices=("simplernn", "lstm", "gru"))
    parser.add_argument("--batch-size", type=int, default=Spec().batch_size)
    parser.add_argument("--length", type=int, default=Spec().maxlen)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per engine")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.child:
            result = measure(args.child, args.device, Spec.from_dict(json.loads(args.spec)))
            print(json.dumps(asdict(result)))
            return 0
        from harness.devices import require_gpu

        require_gpu(args.device)
        spec = Spec(batch_size=args.batch_size, maxlen=args.length, cell=args.cell)
        results = []
        for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
            results.append(run_engine(engine, args.device, spec, args.timeout))
            print(results[-1].line(), flush=True)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([{**asdict(r), "passed": r.passed, "limit_s": r.limit_s} for r in results], indent=1))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
