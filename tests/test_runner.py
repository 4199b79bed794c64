"""The runner: identical batches for every backend, crash/timeout isolation, resume, fail-fast.

Uses the framework-free ``numpy-fake`` backend from tests/plugins (registered through the real entry-point
group), synthetic data and a tiny spec, so each run takes seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.cli.options import parse_seeds
from harness.environment import worker_env
from harness.plan import RunConfig
from harness.progress import LineProgress
from harness.records import JobRecord, read_record
from harness.runner import start
from tests.tiny_runs import DATA, SPEC, tiny_config


def config(tmp_path: Path, **changes) -> RunConfig:
    return tiny_config(tmp_path / "results", **changes)


def records(run_dir: Path) -> dict[str, JobRecord]:
    return {p.stem: read_record(p) for p in sorted((run_dir / "jobs").glob("*.json"))}


def test_every_backend_gets_the_same_batches_and_records_validate(tmp_path, test_backends):
    run, statuses = start(config(tmp_path, seeds=(0, 1)), lambda: LineProgress())
    assert set(statuses.values()) == {"ok"} and len(statuses) == 8
    recs = records(run.path)  # read_record validates every file against the schema
    for cell in ("lstm", "gru"):
        for seed in (0, 1):
            a, b = recs[f"numpy-fake-{cell}-s{seed}"], recs[f"numpy-twin-{cell}-s{seed}"]
            assert a.batch_order_hash == b.batch_order_hash
            assert a.data.fingerprint == b.data.fingerprint
            assert a.weights_fingerprint == b.weights_fingerprint
            # Same model, same batches, same start: the two registrations must agree to the bit.
            assert a.steps.loss == b.steps.loss
    assert recs["numpy-fake-lstm-s0"].batch_order_hash != recs["numpy-fake-lstm-s1"].batch_order_hash
    r = recs["numpy-fake-lstm-s0"]
    n_train = r.data.n_train
    steps_per_epoch = -(-n_train // SPEC.batch_size)
    assert len(r.steps) == SPEC.epochs * steps_per_epoch
    assert sum(r.steps.size) == SPEC.epochs * n_train  # last partial batch kept
    assert r.steps.warmup[:5] == [True] * 5 and not any(r.steps.warmup[5:])
    assert [e.epoch for e in r.epochs] == [1, 2]
    assert r.test.acc >= 0 and r.calibration.start_s and r.calibration.end_s
    assert r.environment.threads == 1 and r.startup_s > 0 and r.peak_rss_mb > 0
    assert r.execution.executor == "local" and r.execution.host == r.environment.hostname
    assert not r.execution.shared_machine
    # The worker started with the fixed allocator settings, and says so.
    assert r.environment.glibc_tunables == worker_env(1, {})["GLIBC_TUNABLES"]
    first, second = r.epochs
    assert first.start_time + first.train_s <= second.start_time
    # CPU times are counted in clock ticks: a tiny epoch may show 0, never less.
    assert all(e.cpu_user_s >= 0 and e.cpu_sys_s >= 0 and e.minor_faults >= 0 for e in r.epochs)
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
    assert rec.status == "timeout" and len(rec.steps) == 1


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
        (
            ["--seeds", "x"],
            "--seeds takes non-negative integers and ranges (e.g. --seeds 0-4, 0,1,2 or 0-2,5), got 'x'",
        ),
        (["--seeds", "-1"], "--seeds takes non-negative integers and ranges"),
        (["--seeds", "0-2,4-3"], "--seeds range 4-3 is empty: write LOW-HIGH with LOW <= HIGH"),
        (["--maxlen", "0"], "maxlen must be an integer >= 1"),
        (["--scheduler", "tcp://h:8786"], "--scheduler is for --executor dask"),
        (["--executor", "dask"], "--executor dask needs the scheduler's address: --scheduler tcp://HOST:8786"),
        (["--parallel", "2", "--executor", "dask"], "--parallel N runs N jobs at once on this machine"),
        (["--parallel", "2", "--threads", "100000"], "--parallel 2 with --threads 100000 needs 200000 cores"),
        (["--resources", "GPU=1"], "--resources is for jobs on a Dask cluster"),
        (["--executor", "dask", "--scheduler", "tcp://h:1", "--resources", "GPU"], "--resources takes NAME=AMOUNT"),
    ],
)
def test_bad_run_options_get_one_line_errors(args, needle, tmp_path, monkeypatch):
    monkeypatch.delenv("RNN_BENCH_SCHEDULER", raising=False)
    result = CliRunner().invoke(cli, ["run", "--data", DATA, "--results", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "values, seeds",
    [
        ([], (0,)),
        (["0-4"], (0, 1, 2, 3, 4)),
        (["0,1,2"], (0, 1, 2)),
        (["0-2,5"], (0, 1, 2, 5)),
        (["7", "3-4,7"], (7, 3, 4)),  # repeated options too; each seed once, in the order given
        (["2-2"], (2,)),
    ],
)
def test_seeds_take_lists_and_ranges(values, seeds):
    assert parse_seeds(values) == seeds


def test_resume_of_a_missing_run_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--resume", "nope", "--results", str(tmp_path)])
    assert result.exit_code == 2 and "run manifest not found" in result.output
