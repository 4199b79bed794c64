"""SIGTERM, SIGHUP and Ctrl-C stop ``bench run`` the same way: the running worker is stopped (no orphan),
its job marked interrupted, finished jobs kept, the manifest truthful, the exit code 128 + the signal."""

from __future__ import annotations

import json
import signal

import psutil
import pytest

from harness.machine_lock import Holder, timing_lock
from tests.tiny_runs import TINY, BenchProcess, wait_until_gone, worker_processes

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_a_stop_signal_stops_the_worker_and_keeps_what_finished(tmp_path, sig):
    results = tmp_path / "results"
    # lstm is quick; gru sleeps in every step, so it is mid-training when the signal comes.
    bench = BenchProcess(
        ["run", "--backends", "numpy-fake", "--cells", "lstm,gru", "--epochs", "30", *TINY]
        + ["--results", str(results), "--name", "sig", "--quiet"],
        extra={"sleep_s": 0.1, "only_cell": "gru"},
    )
    bench.wait_for("numpy-fake/gru/seed 0 epoch 1:")
    (worker,) = worker_processes(str(results / "sig"))
    bench.proc.send_signal(sig)
    code = bench.finish()

    assert code == 128 + sig, bench.output
    name = "Ctrl-C" if sig == signal.SIGINT else sig.name
    assert bench.lines[-1] == (
        f"interrupted by {name}: finished jobs are kept; finish the run with bench run --resume sig --results {results}"
    )
    assert "Traceback" not in bench.output
    assert not worker.is_running() and not wait_until_gone(str(results / "sig"))
    manifest = json.loads((results / "sig" / "manifest.json").read_text())
    jobs = {j["job_id"]: j for j in manifest["jobs"]}
    assert jobs["numpy-fake-lstm-s0"]["status"] == "ok"
    assert (jobs["numpy-fake-gru-s0"]["status"], jobs["numpy-fake-gru-s0"]["error"]) == (
        "interrupted",
        f"interrupted by {name}",
    )
    # The stopped worker still wrote what it had done, and the runner kept it.
    record = json.loads((results / "sig" / "jobs" / "numpy-fake-gru-s0.json").read_text())
    assert record["status"] == "interrupted" and record["error"] == f"interrupted by {name}"
    assert 1 <= len(record["epochs"]) < 30
    # The machine's timing lock went with the process.
    with timing_lock(Holder.this_process("probe", "now"), wait=False):
        pass


def test_a_runner_killed_outright_leaves_no_worker_training(tmp_path):
    results = tmp_path / "results"
    bench = BenchProcess(
        ["run", "--backends", "numpy-fake", "--cells", "gru", "--epochs", "30", *TINY]
        + ["--results", str(results), "--name", "k", "--quiet"],
        extra={"sleep_s": 0.1},
    )
    bench.wait_for("numpy-fake/gru/seed 0 epoch 1:")
    (worker,) = worker_processes(str(results / "k"))
    bench.proc.kill()  # SIGKILL: no handler runs; the worker, in a session of its own, must notice by itself
    bench.finish()
    assert not wait_until_gone(str(results / "k"), timeout=15)
    # Exited (a zombie until whatever adopted it reaps it: not every container's init does).
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    assert not (results / "k" / "jobs" / "numpy-fake-gru-s0.json").exists()  # it wrote nothing into the run
