"""The CI regression gate (.ci/run) fails on a real, injected slowdown and accuracy drop.

Runs the same smoke matrix as .ci/run (results/baselines/ci-smoke.args) with the torch backend replaced,
through the real entry-point group, by the faulty one in tests/plugins_faulty, and checks it against the
committed baseline with CI's thresholds (results/baselines/ci-thresholds.args)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ROOT / "results" / "baselines"


def smoke_then_check(tmp_path: Path, fault: dict[str, str]) -> tuple[int, dict]:
    env = {**os.environ, **fault, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "plugins_faulty"), str(ROOT)])}
    bench = [sys.executable, "-m", "harness.cli"]
    run = subprocess.run(
        [
            *bench,
            "run",
            *(BASELINES / "ci-smoke.args").read_text().split(),
            "--results",
            str(tmp_path),
            "--name",
            "faulty",
            "--quiet",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    check = subprocess.run(
        [
            *bench,
            "check",
            "--baseline",
            str(BASELINES / "ci-smoke.json"),
            "--candidate",
            str(tmp_path / "faulty"),
            *(BASELINES / "ci-thresholds.args").read_text().split(),
            "--format",
            "json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    return check.returncode, json.loads(check.stdout)


def rows(report: dict, metric: str) -> dict[str, str]:
    return {f"{r['backend']}-{r['cell']}": r["verdict"] for r in report["rows"] if r["metric"] == metric}


def test_gate_fails_on_a_fourfold_torch_step_time(tmp_path):
    code, report = smoke_then_check(tmp_path, {"RNN_BENCH_FAULT_SLOWDOWN": "3.0"})
    assert code == 1
    assert rows(report, "step time")["torch-lstm"] == "regression"


def test_gate_fails_on_a_learning_rate_ten_times_too_small(tmp_path):
    code, report = smoke_then_check(tmp_path, {"RNN_BENCH_FAULT_LR_SCALE": "0.1"})
    assert code == 1
    assert rows(report, "test acc")["torch-lstm"] == "regression"
