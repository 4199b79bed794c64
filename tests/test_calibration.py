"""The calibration workload: single-threaded whatever thread count the job's environment allows."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json
from threadpoolctl import threadpool_info
from harness import calibration
def blas():
    return sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})
with calibration.one_blas_thread():
    inside = blas()
times = calibration.calibrate(2)
print(json.dumps({"inside": inside, "outside": blas(), "times": times}))
"""


def test_calibration_runs_on_one_blas_thread_when_the_job_allows_two():
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    out = json.loads(proc.stdout)
    assert out["inside"] == [1]
    # Without the limit NumPy's BLAS takes what the environment allows (capped at the core count); the limit
    # is lifted again after the workload.
    assert out["outside"] == [min(2, os.cpu_count() or 1)]
    assert len(out["times"]) == 2 and all(t > 0 for t in out["times"])
