"""The Dask executor against real clusters started here (LocalCluster on loopback): the same records as the
local executor, and every fault: a worker that dies mid-job, a scheduler that cannot be reached, Ctrl-C,
a cluster with no worker for timing; plus ``--parallel`` with each job on cores of its own."""

from __future__ import annotations

import dataclasses
import json
import signal
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.executors.base import ExecutorConfig
from harness.progress import LineProgress
from harness.records import Execution, JobRecord, read_record
from harness.runner import start
from tests.tiny_runs import TINY, BenchProcess, tiny_config, wait_until_gone

distributed = pytest.importorskip("distributed")


def local_cluster(**options):
    """In-process workers (a few hundred ms to start) listening on loopback TCP, as a remote cluster would."""
    settings = dict(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
        resources={"bench": 1},
    )
    settings.update(options)
    return distributed.LocalCluster(**settings)


@pytest.fixture
def cluster(test_backends):
    with local_cluster() as c:
        yield c


def bench_run(results: Path, name: str, *args: str, cells: str = "lstm,gru", backends: str = "numpy-fake"):
    return CliRunner().invoke(
        cli,
        ["run", "--backends", backends, "--cells", cells, "--epochs", "2", *TINY]
        + ["--results", str(results), "--name", name, "--quiet", *args],
    )


def records(run_dir: Path) -> dict[str, JobRecord]:
    return {p.stem: read_record(p) for p in sorted((run_dir / "jobs").glob("*.json"))}


def assert_same_training(a: JobRecord, b: JobRecord) -> None:
    assert a.data.fingerprint == b.data.fingerprint
    assert a.batch_order_hash == b.batch_order_hash and a.weights_fingerprint == b.weights_fingerprint
    assert a.steps.loss == b.steps.loss  # bit-identical: a deterministic engine, same batches
    assert [e.val_loss for e in a.epochs] == [e.val_loss for e in b.epochs]
    assert a.test == b.test


@pytest.mark.slow
def test_the_dask_executor_writes_the_same_records_as_the_local_one(tmp_path, cluster):
    local = bench_run(tmp_path, "local")
    assert local.exit_code == 0, local.output
    remote = bench_run(tmp_path, "dask", "--executor", "dask", "--scheduler", cluster.scheduler_address)
    assert remote.exit_code == 0, remote.output
    here = socket.gethostname()
    assert f"job 1/2 numpy-fake/lstm/seed 0: started on {here}" in remote.output
    assert "numpy-fake/gru/seed 0 epoch 2:" in remote.output  # per-job progress travels back
    a, b = records(tmp_path / "local"), records(tmp_path / "dask")
    assert sorted(a) == sorted(b) == ["numpy-fake-gru-s0", "numpy-fake-lstm-s0"]
    for job_id in a:
        assert_same_training(a[job_id], b[job_id])
        assert a[job_id].execution == Execution("local", here, False, None)
        assert b[job_id].execution == Execution("dask", here, False, None)
        assert b[job_id].run == "dask"
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert [j["host"] for j in manifest["jobs"]] == [here, here]
    assert manifest["sessions"][0]["scheduler"] == cluster.scheduler_address
    # The record and log came back through the cluster: nothing was left in a tasks/ scratch folder.
    assert (tmp_path / "dask" / "logs" / "numpy-fake-gru-s0.log").is_file()
    assert not (tmp_path / "dask" / "tasks").exists()
    assert not (tmp_path / "dask" / "data.npz").exists()


@pytest.mark.slow
def test_real_torch_gives_bit_identical_losses_through_dask(tmp_path, cluster):
    local = bench_run(tmp_path, "local", cells="lstm", backends="torch")
    assert local.exit_code == 0, local.output
    remote = bench_run(
        tmp_path, "dask", "--executor", "dask", "--scheduler", cluster.scheduler_address, cells="lstm", backends="torch"
    )
    assert remote.exit_code == 0, remote.output
    a, b = records(tmp_path / "local")["torch-lstm-s0"], records(tmp_path / "dask")["torch-lstm-s0"]
    assert_same_training(a, b)
    assert b.runtime["backend"] == "torch" and b.execution.executor == "dask"


def test_an_unreachable_scheduler_is_one_line_before_any_data_is_prepared(tmp_path, test_backends, monkeypatch):
    import dask

    def prepared(config):
        raise AssertionError("the data was prepared")

    monkeypatch.setattr("harness.runner._prepare_data", prepared)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"  # nobody listens there once it is closed
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = bench_run(tmp_path, "r", "--executor", "dask", "--scheduler", address)
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"error: cannot reach the Dask scheduler at {address} (")
    assert line.endswith("or fix --scheduler / RNN_BENCH_SCHEDULER")
    assert not (tmp_path / "r").exists()


def test_a_timing_run_needs_one_worker_with_the_bench_resource_per_host(tmp_path, test_backends):
    with local_cluster(resources=None) as plain:
        result = bench_run(tmp_path, "r", "--executor", "dask", "--scheduler", plain.scheduler_address)
        assert result.exit_code == 2
        assert "no Dask worker at" in result.output and "offers the resource bench=1" in result.output
        assert "--resources bench=1 (or run with --accuracy-only" in result.output
    with local_cluster(n_workers=2) as crowded:
        result = bench_run(tmp_path, "r", "--executor", "dask", "--scheduler", crowded.scheduler_address)
        assert result.exit_code == 2
        assert "host 127.0.0.1 offers bench=2 across its Dask workers, so it would time 2 jobs at once" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


@pytest.mark.slow
def test_a_dask_worker_that_dies_mid_job_fails_that_job_only_and_resume_reruns_it(tmp_path, test_backends):
    # The gru job's worker process kills the Dask worker process running it, at its third step.
    crash = {"kill_parent_at_step": 3, "sleep_s": 0.2, "only_cell": "gru"}
    config = tiny_config(tmp_path, backends=("numpy-fake",), name="killed", backend_extra=crash)
    # Worker processes with nannies (a killed one is restarted); two on one host: accuracy only.
    with local_cluster(n_workers=2, processes=True, resources=None) as cluster:
        address = cluster.scheduler_address
        executor = ExecutorConfig("dask", scheduler=address, accuracy_only=True)
        run, statuses = start(dataclasses.replace(config, executor=executor), LineProgress)
        assert statuses == {"numpy-fake-lstm-s0": "ok", "numpy-fake-gru-s0": "failed"}
        gru = run.manifest.entry("numpy-fake-gru-s0")
        assert "died" in gru.error and "bench run --resume reruns it" in gru.error
        assert read_record(run.path / "jobs" / "numpy-fake-lstm-s0.json").ok
        # Its worker process noticed its parent was gone and stopped: no orphan trains on.
        assert not wait_until_gone("numpy-fake-gru-s0")

        manifest = json.loads((run.path / "manifest.json").read_text())
        manifest["backend_extra"] = {}
        (run.path / "manifest.json").write_text(json.dumps(manifest))
        resumed, statuses = start(dataclasses.replace(config, executor=executor), LineProgress, resume="killed")
    assert statuses == {"numpy-fake-gru-s0": "ok"}
    assert {j.status for j in resumed.manifest.jobs} == {"ok"}
    assert [s.executor for s in resumed.manifest.sessions] == ["dask", "dask"]


@pytest.mark.slow
def test_ctrl_c_stops_the_cluster_jobs_and_keeps_the_finished_records(tmp_path, cluster, monkeypatch):
    results = tmp_path / "results"
    # The jobs' worker processes start on the cluster (in this process), with its environment.
    monkeypatch.setenv("RNN_BENCH_TEST_EXTRA", json.dumps({"sleep_s": 0.1, "only_cell": "gru"}))
    bench = BenchProcess(
        ["run", "--backends", "numpy-fake", "--cells", "lstm,gru,simplernn", "--epochs", "30", *TINY]
        + ["--results", str(results), "--name", "c", "--quiet"]
        + ["--executor", "dask", "--scheduler", cluster.scheduler_address]
    )
    bench.wait_for("numpy-fake/gru/seed 0 epoch 1:")
    bench.proc.send_signal(signal.SIGINT)
    assert bench.finish() == 130, bench.output
    assert "interrupted by Ctrl-C: finished jobs are kept" in bench.lines[-1]
    jobs = {j["job_id"]: j for j in json.loads((results / "c" / "manifest.json").read_text())["jobs"]}
    assert jobs["numpy-fake-lstm-s0"]["status"] == "ok"
    assert (jobs["numpy-fake-gru-s0"]["status"], jobs["numpy-fake-gru-s0"]["error"]) == (
        "interrupted",
        "interrupted by Ctrl-C",
    )
    assert jobs["numpy-fake-simplernn-s0"]["status"] == "pending"  # queued on the cluster, never started
    record = read_record(results / "c" / "jobs" / "numpy-fake-gru-s0.json")  # sent back as it stopped
    assert record.status == "interrupted" and 1 <= len(record.epochs) < 30
    assert not wait_until_gone("numpy-fake-gru-s0")
    deadline = time.monotonic() + 15
    while cluster.scheduler.tasks and time.monotonic() < deadline:  # nothing left running or queued
        time.sleep(0.2)
    assert not cluster.scheduler.tasks


@pytest.mark.slow
def test_parallel_runs_jobs_side_by_side_on_disjoint_cores(tmp_path, test_backends):
    from harness.execution import cpu_slots

    result = bench_run(tmp_path, "p", "--parallel", "2", "--threads", "1", cells="lstm,gru,simplernn")
    assert result.exit_code == 0, result.output
    slots = set(cpu_slots(2, 1))
    recs = records(tmp_path / "p")
    assert len(recs) == 3
    for record in recs.values():
        execution = record.execution
        assert execution.executor == "dask" and execution.shared_machine is True
        assert tuple(execution.cpus) in slots  # read back from the worker after pinning
    session = json.loads((tmp_path / "p" / "manifest.json").read_text())["sessions"][0]
    assert (session["executor"], session["parallel"], session["scheduler"]) == ("dask", 2, None)
