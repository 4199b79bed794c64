"""``bench run`` as a user drives it (a fresh process, black-box): exit codes 1 and 130, Ctrl-C marking the
running job interrupted, ``--resume`` finishing failed and interrupted jobs only, the per-epoch CPU and
page-fault counters, and busy-machine detection.

The framework-free ``numpy-fake`` backend (tests/plugins) takes its faults from ``$RNN_BENCH_TEST_EXTRA``,
which the worker inherits, so nothing here reaches into the runner's modules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from harness.environment import BUSY_OTHER_CPU, is_busy
from tests.bench_process import ROOT, TINY_DATA, TINY_SPEC, bench, bench_command, bench_env

CELLS = ("--cells", "lstm,gru")


def run_args(results: Path, name: str, *extra: object) -> list[object]:
    return [
        "run", "--backends", "numpy-fake", *TINY_DATA, *TINY_SPEC, "--threads", "1",
        "--results", results, "--name", name, "--quiet", *extra,
    ]  # fmt: skip


def faults(**knobs: object) -> dict[str, str]:
    return {"RNN_BENCH_TEST_EXTRA": json.dumps(knobs)}


def manifest_jobs(run: Path) -> dict[str, dict]:
    return {j["job_id"]: j for j in json.loads((run / "manifest.json").read_text())["jobs"]}


def record(run: Path, job_id: str) -> dict:
    return json.loads((run / "jobs" / f"{job_id}.json").read_text())


def workers_of(run: Path) -> list[int]:
    """Processes still running a task of this run (the worker's command line names its task file)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "harness.worker" in cmdline and str(run) in cmdline:
            pids.append(int(proc.name))
    return pids


def test_a_failed_job_exits_1_and_resume_reruns_only_it(tmp_path):
    crashed = bench(*run_args(tmp_path, "r", *CELLS, "--epochs", "2"), env=faults(crash_at_step=3, only_cell="gru"))
    assert crashed.returncode == 1, crashed.stderr
    run = tmp_path / "r"
    jobs = manifest_jobs(run)
    assert jobs["numpy-fake-lstm-s0"]["status"] == "ok"
    assert jobs["numpy-fake-gru-s0"]["status"] == "failed" and "SIGKILL" in jobs["numpy-fake-gru-s0"]["error"]
    err = crashed.stderr.splitlines()
    assert "  numpy-fake-gru-s0: failed: worker killed by SIGKILL" in "\n".join(err)
    assert err[-1] == f"finish it with: bench run --resume r --results {tmp_path}"
    done = run / "jobs" / "numpy-fake-lstm-s0.json"
    before = done.stat().st_mtime_ns

    resumed = bench("run", "--resume", "r", "--results", tmp_path, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("run r: 1 job(s) run now, 0 not ok")
    assert done.stat().st_mtime_ns == before  # the finished job was not run again
    assert record(run, "numpy-fake-gru-s0")["status"] == "ok"


def test_ctrl_c_marks_the_running_job_interrupted_exits_130_and_resume_finishes_it(tmp_path):
    # The gru job (second) sleeps 0.2 s a step over 6 epochs: long enough to be stopped mid-training.
    proc = subprocess.Popen(
        bench_command(*run_args(tmp_path, "r", *CELLS, "--epochs", "6")),
        cwd=ROOT,
        env=bench_env(extra=faults(sleep_s=0.2, only_cell="gru")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As in a terminal: a shell's background job (how CI may start us) inherits SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: list[str] = []
    training = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if "numpy-fake/gru/seed 0 epoch 1:" in line:
                training.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert training.wait(120), "".join(lines)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to the runner (the worker has its own session)
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(10)
    run = tmp_path / "r"
    assert code == 130, "".join(lines)
    assert lines[-1] == (
        f"interrupted by Ctrl-C: finished jobs are kept; finish the run with bench run --resume r --results {tmp_path}\n"
    )
    assert "Traceback" not in "".join(lines)
    assert workers_of(run) == []  # no orphan worker left behind
    jobs = manifest_jobs(run)
    assert jobs["numpy-fake-lstm-s0"]["status"] == "ok"
    assert (jobs["numpy-fake-gru-s0"]["status"], jobs["numpy-fake-gru-s0"]["error"]) == (
        "interrupted",
        "interrupted by Ctrl-C",
    )
    stopped = record(run, "numpy-fake-gru-s0")  # the worker wrote what it did before it stopped
    assert (stopped["status"], stopped["error"]) == ("interrupted", "interrupted by Ctrl-C")
    assert 5 <= len(stopped["steps"]["time_s"]) < 6 * 5 and stopped["test"] is None
    done = run / "jobs" / "numpy-fake-lstm-s0.json"
    before = done.stat().st_mtime_ns

    resumed = bench("run", "--resume", "r", "--results", tmp_path, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert done.stat().st_mtime_ns == before
    finished = record(run, "numpy-fake-gru-s0")
    assert finished["status"] == "ok" and len(finished["steps"]["time_s"]) == 6 * 5
    assert {j["status"] for j in manifest_jobs(run).values()} == {"ok"}


def test_cpu_time_and_page_faults_are_counted_per_epoch(tmp_path):
    """Each step of this job uses 30 ms of CPU and faults in 256 fresh pages: every epoch's counters
    must show at least that, and its CPU no more than its wall time allows."""
    burn_ms, pages, steps = 30, 256, 5  # 160 training reviews in batches of 32
    ran = bench(
        *run_args(tmp_path, "c", "--cells", "lstm", "--epochs", "2"), env=faults(burn_cpu_ms=burn_ms, touch_pages=pages)
    )
    assert ran.returncode == 0, ran.stderr
    epochs = record(tmp_path / "c", "numpy-fake-lstm-s0")["epochs"]
    assert len(epochs) == 2
    for e in epochs:
        cpu = e["cpu_user_s"] + e["cpu_sys_s"]
        assert cpu >= 0.9 * steps * burn_ms / 1000, e
        assert cpu <= e["train_s"] * 1.05 + 0.02, e  # one busy thread: the epoch's CPU, not the process's
        assert e["minor_faults"] >= steps * pages, e


def test_a_busy_machine_flags_the_job_and_says_so(tmp_path):
    """Other processes keeping every core busy while a job runs: the record and the summary line say so."""
    cores = len(os.sched_getaffinity(0))
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        ran = bench(*run_args(tmp_path, "b", "--cells", "lstm", "--epochs", "1"))
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert ran.returncode == 0, ran.stderr
    load = record(tmp_path / "b", "numpy-fake-lstm-s0")["load"]
    assert load["busy"] is True
    assert max(load["start"]["other_cpu"], load["end"]["other_cpu"]) > BUSY_OTHER_CPU
    assert "[machine was busy: timings suspect]" in ran.stderr


def test_busy_means_other_processes_above_the_threshold():
    assert not is_busy(None, {"loadavg": [], "other_cpu": None}, {"loadavg": [], "other_cpu": BUSY_OTHER_CPU})
    assert is_busy({"loadavg": [], "other_cpu": 0.0}, {"loadavg": [], "other_cpu": BUSY_OTHER_CPU + 0.01})
