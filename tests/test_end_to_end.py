"""End to end with the real frameworks: a tiny `bench run` of both backends, then report, baseline, export.

Slow (two fresh TensorFlow/PyTorch processes per cell), so marked ``slow``; CI runs it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.records import read_record

pytestmark = pytest.mark.slow


def test_tiny_real_run_report_baseline_export(tmp_path):
    results = tmp_path / "results"
    runner = CliRunner()
    run = runner.invoke(
        cli,
        [
            "run",
            "--backends",
            "keras,torch",
            "--cells",
            "lstm,gru",
            "--data",
            "synthetic:train=320,test=128,seed=1",
            "--maxlen",
            "30",
            "--vocab-size",
            "300",
            "--embed-dim",
            "8",
            "--units",
            "8",
            "--epochs",
            "2",
            "--batch-size",
            "32",
            "--threads",
            "1",
            "--results",
            str(results),
            "--name",
            "e2e",
            "--quiet",
        ],
    )
    assert run.exit_code == 0, run.output
    recs = {p.stem: read_record(p) for p in (results / "e2e" / "jobs").glob("*.json")}
    assert sorted(recs) == ["keras-gru-s0", "keras-lstm-s0", "torch-gru-s0", "torch-lstm-s0"]
    for cell in ("lstm", "gru"):
        k, t = recs[f"keras-{cell}-s0"], recs[f"torch-{cell}-s0"]
        # matched mode: same data, batches and start, so the two frameworks' training agrees closely
        assert k.batch_order_hash == t.batch_order_hash and k.weights_fingerprint == t.weights_fingerprint
        assert k.params == t.params
        np.testing.assert_allclose(k.steps.loss, t.steps.loss, atol=1e-4)
        assert abs(k.test.acc - t.test.acc) <= 2 / 128  # at most a couple of borderline reviews
        assert k.runtime["backend_class"] == "backends.keras_tf:KerasBackend"

    report = runner.invoke(cli, ["report", str(results / "e2e")])
    assert report.exit_code == 0, report.output
    summary = (results / "e2e" / "report" / "summary.csv").read_text().splitlines()
    assert len(summary) == 1 + 4

    baseline = tmp_path / "baseline.json"
    saved = runner.invoke(cli, ["baseline", "save", str(results / "e2e"), "--out", str(baseline)])
    assert saved.exit_code == 0, saved.output
    assert json.loads(baseline.read_text())["kind"] == "rnn-bench/baseline"

    export = tmp_path / "pb.json"
    exported = runner.invoke(
        cli, ["export", str(results / "e2e"), "--format", "pytest-benchmark", "--out", str(export)]
    )
    assert exported.exit_code == 0, exported.output
    assert len(json.loads(export.read_text())["benchmarks"]) == 4
