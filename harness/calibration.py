"""A small fixed, framework-free workload timed at the start and end of every job.

Its time depends only on the machine (CPU model, clock, load), not on any framework, so the ratio of
two machines' calibration times lets ``bench check`` compare step times across machines, and a change
between a job's start and end shows the machine got busier or throttled mid-job.
"""

from __future__ import annotations

import time

import numpy as np

#: Sizes chosen so one repetition takes ~0.1 s on a 2-core 2020s CPU; fixed forever, since changing the
#: workload makes old calibration figures incomparable (bump CALIBRATION_VERSION if it must change).
CALIBRATION_VERSION = 1
_N = 192
_ROUNDS = 60


def _workload() -> float:
    # A fixed seed keeps the workload identical across runs; single-threaded matmul + elementwise math,
    # a mix like an RNN step's, without touching TF or torch.
    rng = np.random.default_rng(1234)
    a = rng.standard_normal((_N, _N))
    b = rng.standard_normal((_N, _N))
    acc = 0.0
    for _ in range(_ROUNDS):
        c = np.tanh(a @ b * 0.01)
        acc += float(c.sum())
        a = c
    return acc


def calibrate(repeats: int = 3) -> list[float]:
    """Wall time in seconds of each of ``repeats`` runs of the workload."""
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _workload()
        out.append(time.perf_counter() - t0)
    return out
