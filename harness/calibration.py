"""A small fixed, framework-free workload timed at the start and end of every job.

Its time depends only on the machine (CPU model, clock, load), not on any framework, so the ratio of
two machines' calibration times lets ``bench check`` compare step times across machines, and a change
between a job's start and end shows the machine got busier or throttled mid-job.
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

#: Sizes chosen so one repetition takes ~0.1 s on a 2-core 2020s CPU; fixed forever, since changing the
#: workload makes old calibration figures incomparable (bump CALIBRATION_VERSION if it must change).
CALIBRATION_VERSION = 1
_N = 192
_ROUNDS = 60


def _workload() -> float:
    # A fixed seed keeps the workload identical across runs; matmul + elementwise math, a mix like an RNN
    # step's, without touching TF or torch. Run under one_blas_thread(): single-threaded.
    rng = np.random.default_rng(1234)
    a = rng.standard_normal((_N, _N))
    b = rng.standard_normal((_N, _N))
    acc = 0.0
    for _ in range(_ROUNDS):
        c = np.tanh(a @ b * 0.01)
        acc += float(c.sum())
        a = c
    return acc


def one_blas_thread() -> threadpool_limits:
    """NumPy's BLAS limited to one thread. A job's environment allows its --threads to every native pool;
    measured at --threads 2 the workload then kept two cores busy (CPU/wall 1.99) for a 13% shorter time,
    so the calibration meant something else at each thread count, and it left a spinning BLAS pool beside
    the framework's threads. Single-threaded, it measures the machine alone, at every --threads."""
    return threadpool_limits(limits=1, user_api="blas")


def calibrate(repeats: int = 3) -> list[float]:
    """Wall time in seconds of each of ``repeats`` runs of the workload, on one BLAS thread."""
    out = []
    with one_blas_thread():
        for _ in range(repeats):
            t0 = time.perf_counter()
            _workload()
            out.append(time.perf_counter() - t0)
    return out
