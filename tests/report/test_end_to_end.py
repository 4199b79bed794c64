"""A tiny real ``bench run`` (framework-free test backends, synthetic data) followed by ``bench report``."""

from __future__ import annotations

import csv
import json
import statistics

import pytest

TINY = [
    "--vocab-size",
    "60",
    "--embed-dim",
    "4",
    "--units",
    "4",
    "--maxlen",
    "16",
    "--batch-size",
    "32",
    "--epochs",
    "2",
]


def test_bench_run_then_bench_report(tmp_path, test_backends, bench):
    results = tmp_path / "results"
    ran = bench(
        "run",
        "--backends",
        "numpy-fake,numpy-twin",
        "--cells",
        "lstm",
        "--seeds",
        "0",
        "--data",
        "synthetic:train=200,test=64,seed=3",
        "--threads",
        "1",
        "--target-acc",
        "0.5",
        "--results",
        results,
        "--name",
        "e2e",
        "--quiet",
        *TINY,
    )
    assert ran.exit_code == 0, ran.output
    reported = bench("report", "--results", results)  # no RUN: the latest (only) run
    assert reported.exit_code == 0, reported.output
    out = results / "e2e" / "report"
    with (out / "summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["backend"], r["cell"], r["seeds"]) for r in rows] == [
        ("numpy-fake", "lstm", "1"),
        ("numpy-twin", "lstm", "1"),
    ]
    for row in rows:  # each row's figures are its job's raw steps, warm-up steps excluded
        steps = json.loads((results / "e2e" / "jobs" / f"{row['backend']}-lstm-s0.json").read_text())["steps"]
        timed = [t for t, w, n in zip(steps["time_s"], steps["warmup"], steps["size"]) if not w and n == 32]
        warm = [(t, n) for t, w, n in zip(steps["time_s"], steps["warmup"], steps["size"]) if not w]
        assert len(timed) == 2 * 5 - 5  # 160 training reviews: 5 full batches an epoch, the first 5 warm-up
        assert float(row["step_ms_median"]) == pytest.approx(statistics.median(timed) * 1000, rel=1e-6)
        throughput = sum(n for _, n in warm) / sum(t for t, _ in warm)
        assert float(row["samples_per_s"]) == pytest.approx(throughput, rel=1e-6)
    # the two registrations of one model trained on the same batches from the same weights: no banner
    markdown = (out / "report.md").read_text()
    assert "Not comparable" not in markdown and "## Head to head" in markdown
    assert (out / "index.html").stat().st_size > 50_000
