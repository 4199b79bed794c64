"""scripts/run_vs_plain.py's analysis: its verdict on saved samples (``--from``), without running a framework."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "run_vs_plain.py"


def saved(tmp_path: Path, cost: float, noise: float, rounds: int = 6) -> Path:
    rng = np.random.default_rng(1)
    # Each round has its own machine speed (shared by both processes of the round), as on a noisy VM.
    speeds = rng.uniform(0.8, 1.3, rounds)
    plain = [list(0.1 * s * rng.normal(1, noise, 35)) for s in speeds]
    ours = [list(0.1 * s * cost * rng.normal(1, noise, 35)) for s in speeds]
    path = tmp_path / "samples.json"
    path.write_text(json.dumps({"torch-lstm": {"fingerprint": "f", "bench_run_s": ours, "plain_s": plain}}))
    return path


def analyse(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--from", str(path)], capture_output=True, text=True)


@pytest.mark.parametrize(("cost", "verdict", "code"), [(1.0, "within 5%", 0), (1.3, "costs more than 5%", 1)])
def test_paired_rounds_cancel_the_machine_speed(tmp_path, cost, verdict, code):
    proc = analyse(saved(tmp_path, cost, noise=0.01))
    assert proc.returncode == code, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("torch"))
    assert verdict in row
    assert "pooled all: geometric mean of 6 case-round ratios" in proc.stdout


def test_too_few_rounds_for_the_noise_is_not_resolved(tmp_path):
    proc = analyse(saved(tmp_path, 1.0, noise=0.01, rounds=1))
    assert proc.returncode == 0 and "not resolved" in proc.stdout


def test_plain_like_names_bench_runs_worker_conditions():
    spec = importlib.util.spec_from_file_location("run_vs_plain", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.plain_like("session, calibration") == ("session", "calibration")
    assert module.plain_like("") == ()
    with pytest.raises(argparse.ArgumentTypeError, match="unknown condition 'gpu'; valid conditions: session, calibration"):
        module.plain_like("session,gpu")
