"""scripts/benchmarks/lockstep.py: programs run in turn, one at a time, a slice each, whole process trees included."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.benchmarks import lockstep

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")

# Busy for ``cpu`` seconds of its own CPU time, noting the wall clock every ~2 ms; with ``child`` the work
# is done by a child process, to show the whole tree is stopped.
WORKER = """
import json, os, subprocess, sys, time
cpu, child = float(sys.argv[1]), sys.argv[2] == "child"
if child:
    sys.exit(subprocess.run([sys.executable, "-c", sys.argv[3], sys.argv[1], "self", sys.argv[3]]).returncode)
stamps = []
while time.process_time() < cpu:
    stamps.append(time.time())
    t = time.process_time()
    while time.process_time() - t < 0.002:
        pass
print(json.dumps(stamps))
"""


def start(cpu: float, how: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, str(cpu), how, WORKER], stdout=subprocess.PIPE, text=True)


def test_programs_run_one_at_a_time_and_every_pause_lasts_a_slice():
    slice_s = 0.25
    procs = [start(0.6, "self"), start(0.3, "child")]
    ended = []
    lockstep.run_in_turn(procs, slice_s, on_exit=ended.append)
    stamps = [json.loads(p.stdout.read()) for p in procs]
    assert all(p.returncode == 0 for p in procs) and sorted(id(p) for p in ended) == sorted(id(p) for p in procs)
    # Merged in time order, the owner changes only at a slice boundary: never both running at once.
    merged = sorted([(t, 0) for t in stamps[0]] + [(t, 1) for t in stamps[1]])
    switches = sum(a[1] != b[1] for a, b in zip(merged, merged[1:]))
    assert 1 <= switches <= (merged[-1][0] - merged[0][0]) / slice_s + 1
    # Each was stopped at least once (0.6 s and 0.3 s of work, 0.25 s slices), for at least a slice
    # (less the start-up of the child's interpreter, which ran inside the slice).
    for own in stamps:
        gaps = [b - a for a, b in zip(own, own[1:])]
        assert max(gaps) >= 0.9 * slice_s


def test_a_process_that_ended_keeps_its_turn_as_an_idle_slice():
    slice_s = 0.2
    procs = [start(0.01, "self"), start(0.6, "self")]
    lockstep.run_in_turn(procs, slice_s)
    assert procs[0].returncode == 0 and procs[1].returncode == 0
    # The first ended in its first slice; the second still paused a full slice between its own (0.6 s of
    # work in 0.2 s slices: at least two pauses inside its working time).
    own = json.loads(procs[1].stdout.read())
    pauses = [b - a for a, b in zip(own, own[1:]) if b - a >= 0.9 * slice_s]
    assert len(pauses) >= 2


def test_nothing_is_left_stopped_after_an_error():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:

        def boom(p):
            raise RuntimeError("boom")

        other = subprocess.Popen([sys.executable, "-c", "pass"])
        with pytest.raises(RuntimeError):
            lockstep.run_in_turn([other, proc], 0.1, on_exit=boom)
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state != "T"  # continued, not left stopped
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_paused_steps_are_those_of_a_slice_or_more():
    assert lockstep.paused_steps([0.1, 0.49, 0.5, 2.0], 0.5) == [False, False, True, True]
