"""The machine's timing lock: a second timing run waits for the first (saying which run it waits for) or,
with --no-wait, fails at once; --accuracy-only and --parallel runs skip it. Every test here has a user
cache of its own (conftest), so none touches the real machine's lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.errors import BenchError
from harness.machine_lock import Holder, lock_path, timing_lock
from tests.tiny_runs import ROOT, TINY

HOLD = """
import os, sys, time
from harness.machine_lock import Holder, timing_lock
with timing_lock(Holder("holder-run", os.getpid(), "holder-host", "2026-12-01T00:00:00+00:00")):
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
    print(f"released {time.time()}", flush=True)
"""


@pytest.fixture
def holder():
    """Another process holding the lock; ``start(seconds)`` returns it once it holds the lock."""
    started: list[subprocess.Popen] = []

    def start(seconds: float) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(seconds)], cwd=ROOT, env=os.environ, stdout=subprocess.PIPE, text=True
        )
        started.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def bench_run(tmp_path, *args):
    return CliRunner().invoke(
        cli,
        ["run", "--backends", "numpy-fake", "--cells", "lstm", "--epochs", "1", *TINY]
        + ["--results", str(tmp_path / "results"), "--name", "r", "--quiet", *args],
    )


def test_with_no_wait_a_second_timing_run_fails_at_once_naming_the_holder(tmp_path, test_backends, holder):
    proc = holder(60)
    started = time.monotonic()
    result = bench_run(tmp_path, "--no-wait")
    assert result.exit_code == 2 and time.monotonic() - started < 30
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: another timing run has this machine (run holder-run, pid ")
    assert f"pid {proc.pid} on holder-host, since 2026-12-01T00:00:00+00:00; lock {lock_path()}" in line
    assert not (tmp_path / "results" / "r").exists()  # failed before any data was prepared


def test_a_second_timing_run_waits_then_runs(tmp_path, test_backends, holder):
    proc = holder(3)
    result = bench_run(tmp_path)
    assert result.exit_code == 0, result.output
    assert f"waiting for this machine's timing lock, held by run holder-run, pid {proc.pid}" in result.output
    released = float(proc.stdout.readline().split()[1])
    record = json.loads((tmp_path / "results" / "r" / "jobs" / "numpy-fake-lstm-s0.json").read_text())
    assert record["epochs"][0]["start_time"] > released  # it trained only once the holder was gone
    assert record["execution"]["shared_machine"] is False


def test_an_accuracy_only_run_does_not_wait_and_says_its_step_times_are_not_for_speed(tmp_path, test_backends, holder):
    holder(60)
    result = bench_run(tmp_path, "--accuracy-only", "--no-wait")
    assert result.exit_code == 0, result.output
    assert "waiting" not in result.output
    record = json.loads((tmp_path / "results" / "r" / "jobs" / "numpy-fake-lstm-s0.json").read_text())
    assert record["execution"] == {
        "executor": "local",
        "host": record["environment"]["hostname"],
        "shared_machine": True,
        "cpus": None,
    }


def test_the_lock_is_released_after_a_run_and_excludes_within_one_process(tmp_path, test_backends):
    assert bench_run(tmp_path).exit_code == 0
    with timing_lock(Holder.this_process("a", "now"), wait=False):
        # flock belongs to the open file: a second holder in the same process is refused too.
        with pytest.raises(BenchError, match="another timing run has this machine \\(run a, pid"):
            with timing_lock(Holder.this_process("b", "now"), wait=False):
                pass
    with timing_lock(Holder.this_process("c", "now"), wait=False):
        pass


def test_an_unusable_cache_folder_for_the_lock_is_a_one_line_error(tmp_path, test_backends, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(blocker / "cache"))
    result = bench_run(tmp_path)
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"error: cannot write {blocker / 'cache' / 'timing.lock'}: Not a directory;")
    assert "BENCH_CACHE_DIR" in line
