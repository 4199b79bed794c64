"""The runner: identical batches for every backend, crash/timeout isolation, resume, fail-fast.

Uses the framework-free ``numpy-fake`` backend from tests/plugins (registered through the real entry-point
group), synthetic data and a tiny spec, so each run takes seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.environment import worker_env
from harness.progress import LineProgress
from harness.records import read_record
from harness.runner import RunConfig, start
from harness.spec import Spec
from harness.weights import initial_weights, weights_fingerprint

SPEC = Spec(vocab_size=60, embed_dim=4, units=4, maxlen=16, batch_size=32, epochs=2)
DATA = "synthetic:train=200,test=64,seed=3"


def config(tmp_path: Path, **changes) -> RunConfig:
    base = dict(
        spec=SPEC,
        backends=("numpy-fake", "numpy-twin"),
        cells=("lstm", "gru"),
        seeds=(0,),
        mode="matched",
        data=DATA,
        threads=1,
        target_acc=0.6,
        results=tmp_path / "results",
        name="t",
    )
    base.update(changes)
    return RunConfig(**base)


def records(run_dir: Path) -> dict[str, dict]:
    return {p.stem: read_record(p) for p in sorted((run_dir / "jobs").glob("*.json"))}


def test_every_backend_gets_the_same_batches_and_records_validate(tmp_path, test_backends):
    run, statuses = start(config(tmp_path, seeds=(0, 1)), lambda: LineProgress())
    assert set(statuses.values()) == {"ok"} and len(statuses) == 8
    recs = records(run.path)  # read_record validates every file against the schema
    for cell in ("lstm", "gru"):
        for seed in (0, 1):
            a, b = recs[f"numpy-fake-{cell}-s{seed}"], recs[f"numpy-twin-{cell}-s{seed}"]
            assert a["batch_order_hash"] == b["batch_order_hash"]
            assert a["data"]["fingerprint"] == b["data"]["fingerprint"]
            # Both held exactly the weights the harness drew for this cell and seed.
            intended = weights_fingerprint(initial_weights(SPEC.replace(cell=cell, seed=seed)))
            assert a["weights_fingerprint"] == b["weights_fingerprint"] == intended
            assert a["weights_fingerprint_built"] == b["weights_fingerprint_built"] == intended
            # Same model, same batches, same start: the two registrations must agree to the bit.
            assert a["steps"]["loss"] == b["steps"]["loss"]
    assert recs["numpy-fake-lstm-s0"]["batch_order_hash"] != recs["numpy-fake-lstm-s1"]["batch_order_hash"]
    r = recs["numpy-fake-lstm-s0"]
    n_train = r["data"]["n_train"]
    steps_per_epoch = -(-n_train // SPEC.batch_size)
    assert len(r["steps"]["time_s"]) == SPEC.epochs * steps_per_epoch
    assert sum(r["steps"]["size"]) == SPEC.epochs * n_train  # last partial batch kept
    assert r["steps"]["warmup"][:5] == [True] * 5 and not any(r["steps"]["warmup"][5:])
    assert [e["epoch"] for e in r["epochs"]] == [1, 2]
    assert r["test"]["acc"] >= 0 and r["calibration"]["start_s"] and r["calibration"]["end_s"]
    assert r["environment"]["threads"] == 1 and r["startup_s"] > 0 and r["peak_rss_mb"] > 0
    # The worker started with the fixed allocator settings, and says so.
    assert r["environment"]["glibc_tunables"] == worker_env(1, {})["GLIBC_TUNABLES"]
    first, second = r["epochs"]
    assert first["start_time"] + first["train_s"] <= second["start_time"]
    # Each epoch's CPU time and page faults: their values are tested in test_run_cli.py, with known work.
    assert all({"cpu_user_s", "cpu_sys_s", "minor_faults"} <= set(e) for e in r["epochs"])
    assert not (run.path / "data.npz").exists()  # prepared arrays removed once every job is ok
    entries = json.loads((run.path / "manifest.json").read_text())["jobs"]
    # The runner's own CPU while each job ran is recorded (the worker's CPU is not part of it).
    assert all(0 <= e["runner_cpu_s"] <= e["wall_s"] for e in entries)


def test_a_killed_job_leaves_the_others_and_resume_finishes_only_it(tmp_path, test_backends):
    crash = {"crash_at_step": 3, "only_cell": "gru"}
    run, statuses = start(config(tmp_path, backends=("numpy-fake",), backend_extra=crash), lambda: LineProgress())
    manifest = json.loads((run.path / "manifest.json").read_text())
    by_id = {j["job_id"]: j for j in manifest["jobs"]}
    assert by_id["numpy-fake-lstm-s0"]["status"] == "ok"
    assert by_id["numpy-fake-gru-s0"]["status"] == "failed"
    assert "SIGKILL" in by_id["numpy-fake-gru-s0"]["error"]
    assert (run.path / "data.npz").exists()  # kept for the resume
    done = run.path / "jobs" / "numpy-fake-lstm-s0.json"
    before = done.stat().st_mtime_ns

    # Resume without the crash: only the failed job runs again.
    manifest["backend_extra"] = {}
    (run.path / "manifest.json").write_text(json.dumps(manifest))
    resumed, statuses = start(config(tmp_path), lambda: LineProgress(), resume="t")
    assert statuses == {"numpy-fake-gru-s0": "ok"}
    assert done.stat().st_mtime_ns == before
    assert {j["status"] for j in json.loads((run.path / "manifest.json").read_text())["jobs"]} == {"ok"}


def test_a_hung_job_times_out_and_the_run_continues(tmp_path, test_backends):
    hang = {"hang_at_step": 2, "only_cell": "lstm"}
    run, statuses = start(
        config(tmp_path, backends=("numpy-fake",), backend_extra=hang, timeout_s=8), lambda: LineProgress()
    )
    assert statuses == {"numpy-fake-lstm-s0": "timeout", "numpy-fake-gru-s0": "ok"}
    rec = read_record(run.path / "jobs" / "numpy-fake-lstm-s0.json")
    assert rec["status"] == "timeout" and len(rec["steps"]["time_s"]) == 1


def test_unwritable_results_folder_fails_fast_with_one_line(tmp_path, test_backends):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(
        cli, ["run", "--backends", "numpy-fake", "--data", DATA, "--results", str(blocker / "r")]
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: results folder") and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--cells", "lstm,tree"], "unknown cell 'tree'; valid cells: simplernn, lstm, gru"),
        (["--backends", "jax"], "unknown backend 'jax'"),
        (["--seeds", "x"], "--seeds takes non-negative integers"),
        (["--maxlen", "0"], "maxlen must be an integer >= 1"),
    ],
)
def test_bad_run_options_get_one_line_errors(args, needle, tmp_path):
    result = CliRunner().invoke(cli, ["run", "--data", DATA, "--results", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output


def test_resume_of_a_missing_run_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--resume", "nope", "--results", str(tmp_path)])
    assert result.exit_code == 2 and "run manifest not found" in result.output
