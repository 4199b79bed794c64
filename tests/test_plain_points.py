"""scripts/benchmarks/plain_points.py: each engine's plain code alone, first step apart from the steady ones."""

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_a_worker_times_the_first_step_apart_from_the_steady_ones():
    # in a process of its own, as the script runs it: the plain code sets torch's global seed and FTZ state
    cmd = [sys.executable, "-m", "scripts.benchmarks.plain_points", "--worker", "torch", "simplernn"]
    proc = subprocess.run([*cmd, "--steps=2", "--warmup=1"], capture_output=True, text=True, cwd=ROOT, check=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (r["engine"], r["cell"]) == ("torch", "simplernn")
    assert r["first_s"] > 0 and len(r["steps_s"]) == 2 and all(t > 0 for t in r["steps_s"])


def test_an_engine_without_plain_code_is_refused_in_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.benchmarks.plain_points", "--engines", "torch,nope"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2 and "no plain code for nope" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
