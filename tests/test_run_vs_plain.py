"""scripts/benchmarks/run_vs_plain.py's analysis: its verdict on saved samples (``--from``), without running a framework."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from harness.records import EpochRecord
from scripts.benchmarks import run_vs_plain

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "scripts.benchmarks.run_vs_plain"]


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
    return subprocess.run([*COMMAND, "--from", str(path)], capture_output=True, text=True, cwd=ROOT)


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
    assert run_vs_plain.plain_like("session, calibration") == ("session", "calibration")
    assert run_vs_plain.plain_like("") == ()
    with pytest.raises(
        argparse.ArgumentTypeError, match="unknown condition 'gpu'; valid conditions: session, calibration"
    ):
        run_vs_plain.plain_like("session,gpu")


def test_lockstep_keeps_only_the_plain_steps_taken_while_the_job_trained():
    epochs = [EpochRecord(1, 0.7, 0.5, 0.7, 0.5, 4.0, 0.1, 3.9, 0.1, start_time=100.0)]
    epochs.append(dataclasses.replace(epochs[0], epoch=2, start_time=105.0, train_s=3.0))
    record = SimpleNamespace(epochs=epochs)
    assert run_vs_plain.training_window(record) == (100.0, 108.0)
    # Twelve full steps a second apart from t=93, then a partial batch: warm-up (the first 5) and the
    # partial batch are never samples; the window keeps those that started in [100, 108).
    out = {
        "fingerprint": "f",
        "time_s": [0.1 + k / 100 for k in range(13)],
        "sizes": [128] * 12 + [3],
        "start_unix": [93.0 + k for k in range(13)],
    }
    times, fp = run_vs_plain.read_plain(
        run_vs_plain.plain_output(json.dumps(out)), run_vs_plain.training_window(record)
    )
    assert fp == "f" and list(np.round(times, 2)) == [0.17, 0.18, 0.19, 0.2, 0.21]
    assert (
        len(run_vs_plain.read_plain(run_vs_plain.plain_output(json.dumps(out)))[0]) == 7
    )  # no window: every timed step


def test_lockstep_slice_must_be_positive():
    assert run_vs_plain.positive_seconds("0.5") == 0.5
    for bad in ("0", "-1", "soon"):
        with pytest.raises(argparse.ArgumentTypeError, match="greater than 0"):
            run_vs_plain.positive_seconds(bad)


def test_several_saved_files_pool_their_rounds(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    proc = subprocess.run(
        [
            *COMMAND,
            "--from",
            str(saved(first, 1.0, 0.01, rounds=3)),
            str(saved(second, 1.0, 0.01, rounds=4)),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "pooled all: geometric mean of 7 case-round ratios" in proc.stdout
