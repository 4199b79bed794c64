"""The CI regression gate (.ci/run) fails on a real, injected slowdown and accuracy drop, and on nothing else.

Runs the smoke matrix of .ci/run (results/baselines/ci-smoke.args) twice on this machine: once as it is,
saved with ``bench baseline save`` (so the test does not depend on how fast this machine is compared with
the one that recorded the committed baseline), and once with the torch backend replaced, through the real
entry-point group, by the faulty one in tests/plugins_faulty: each torch step 4x as long, and its learning
rate a tenth. ``bench check`` with CI's thresholds (results/baselines/ci-thresholds.args) must flag exactly
the torch rows, and leave every keras row clean: a gate that flags everything fails this test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench_process import FAULTY_PLUGINS, PLUGINS, ROOT, bench

pytestmark = pytest.mark.slow

BASELINES = ROOT / "results" / "baselines"
SMOKE = (BASELINES / "ci-smoke.args").read_text().split()
THRESHOLDS = (BASELINES / "ci-thresholds.args").read_text().split()
FAULTS = {"RNN_BENCH_FAULT_SLOWDOWN": "3.0", "RNN_BENCH_FAULT_LR_SCALE": "0.1"}
CLEAN = {"no significant change", "improvement"}


def smoke(results: Path, name: str, plugins: tuple[Path, ...], env: dict[str, str] | None = None) -> Path:
    ran = bench("run", *SMOKE, "--results", results, "--name", name, "--quiet", plugins=plugins, env=env)
    assert ran.returncode == 0, ran.stderr[-2000:]
    return results / name


def verdicts(report: dict) -> dict[tuple[str, str], str]:
    return {(f"{r['backend']}-{r['cell']}", r["metric"]): r["verdict"] for r in report["rows"]}


def test_gate_flags_the_injected_torch_faults_and_nothing_else(tmp_path):
    baseline_run = smoke(tmp_path, "baseline", (PLUGINS,))
    baseline = tmp_path / "ci-smoke.json"
    saved = bench("baseline", "save", baseline_run, "--out", baseline)
    assert saved.returncode == 0, saved.stderr
    faulty = smoke(tmp_path, "faulty", (FAULTY_PLUGINS,), FAULTS)
    classes = {json.loads(p.read_text())["runtime"]["backend_class"] for p in (faulty / "jobs").glob("torch-*.json")}
    assert classes == {"rnn_bench_faulty:FaultyTorchBackend"}  # the fault really ran

    check = bench("check", "--baseline", baseline, "--candidate", faulty, *THRESHOLDS, "--format", "json")
    assert check.returncode == 1, check.stderr
    rows = verdicts(json.loads(check.stdout))
    assert rows[("torch-lstm", "step time")] == "regression"  # the 4x step
    assert rows[("torch-lstm", "test acc")] == "regression"  # the learning rate
    keras = {metric: verdict for (group, metric), verdict in rows.items() if group == "keras-lstm"}
    assert set(keras) == {"step time", "test acc", "best val acc"}
    assert set(keras.values()) <= CLEAN, keras
