"""Plain-code reference points: each engine's plain code alone, its first step and its steady step.

    python -m scripts.benchmarks.plain_points [--engines keras,keras-xla,...] [--cells lstm,gru,simplernn]
                                              [--steps 15] [--warmup 3] [--slow-steps 3]

What a user who writes the model by hand for one engine gets, with nothing of rnn-bench's backends in the
process: the plain code of ``bench_step`` (``PLAIN``) in native mode (the framework's own initialisers and
RMSprop(1e-3)), the framework's default threads, batch 128 x 500 (``parity_batches``: padded Zipf-distributed
token ids). One fresh process per engine and cell. It prints the first step in seconds (tracing and
compiling included) and the median step in ms over ``--steps`` steps after ``--warmup`` more
(``--slow-steps`` for keras-torch, whose step takes seconds). These are the reference points against which
the issue's (another machine's) can be compared; the script has no target and always exits 0 when every
process ran.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from backends.base import parse_backend
from harness.parity import parity_batches
from harness.spec import CELLS, Spec

from .bench_step import PLAIN, ROOT

#: Engines whose step takes seconds on a CPU: they get ``--slow-steps`` timed steps.
SLOW = ("keras-torch",)


def measure(engine: str, cell: str, steps: int, warmup: int) -> dict:
    """In this (fresh) process: build the engine's plain code and time its steps."""
    keras_backend = getattr(parse_backend(engine).backend_class(), "keras_backend", None)
    if keras_backend:  # read once, when keras is first imported
        os.environ["KERAS_BACKEND"] = keras_backend
    spec = Spec(cell=cell)
    batches = parity_batches(spec, 4, spec.seed)
    step = PLAIN[engine](spec, None)
    times = []
    for i in range(1 + warmup + steps):
        t0 = time.perf_counter()
        step(*batches[i % len(batches)])
        times.append(time.perf_counter() - t0)
    return {"engine": engine, "cell": cell, "first_s": times[0], "steps_s": times[1 + warmup :]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="keras,keras-xla,keras-jax,keras-torch,torch,torch-compile")
    parser.add_argument("--cells", default=",".join(CELLS))
    parser.add_argument("--steps", type=int, default=15, help="timed steps after the warm-up (default 15)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps after the first (default 3)")
    parser.add_argument("--slow-steps", type=int, default=3, help=f"timed steps for {', '.join(SLOW)} (default 3)")
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "CELL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        engine, cell = args.worker
        print(json.dumps(measure(engine, cell, args.steps, args.warmup)), flush=True)
        return 0

    engines, cells = args.engines.split(","), args.cells.split(",")
    unknown = [e for e in engines if e not in PLAIN]
    if unknown:
        parser.error(f"no plain code for {', '.join(unknown)}; choose from {', '.join(PLAIN)}")
    print(f"plain_points: batch 128 x 500, framework default threads; load average {os.getloadavg()[0]:.2f}")
    print(f"{'engine':<14} {'cell':<10} {'step ms':>9} {'first s':>8} {'steps':>6}")
    for engine in engines:
        steps = args.slow_steps if engine in SLOW else args.steps
        for cell in cells:
            cmd = [sys.executable, "-m", __spec__.name, "--worker", engine, cell]
            cmd += [f"--steps={steps}", f"--warmup={args.warmup}"]
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
            if proc.returncode != 0:
                print(f"error: the {engine} {cell} process failed (exit {proc.returncode})", file=sys.stderr)
                return 2
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            median_ms = statistics.median(r["steps_s"]) * 1e3
            print(f"{engine:<14} {cell:<10} {median_ms:9.1f} {r['first_s']:8.2f} {len(r['steps_s']):6d}", flush=True)
    print(f"load average now {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
