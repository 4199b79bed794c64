"""Run programs in turn, one at a time, each for a fixed slice of wall time: side-by-side timing on a noisy VM.

Two programs timed one after the other on a shared VM see different machine states (this VM has stretches
of seconds to minutes at two speed levels), so their ratio carries that noise. Run in turn, a slice each,
by stopping and continuing every process of each program's tree (SIGSTOP/SIGCONT), both see the machine
of the same minute while never competing for a core. What it costs: a step that a pause falls into takes at
least one pause longer, and every pause lasts at least ``slice_s``, so such steps are exactly those timed at
``slice_s`` or more, and ``paused_steps`` drops them (make ``slice_s`` several times the longest step).
Linux only (the process tree is read from /proc).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def children(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited while we looked
            continue
        # The command name (2nd field, in parentheses) may hold spaces: the parent pid follows its ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def signal_tree(pid: int, sig: int) -> None:
    """Send ``sig`` to ``pid`` and all its descendants, each before its children are listed, so that a
    stopped process cannot start another one behind our back."""
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            os.kill(current, sig)
        except ProcessLookupError:
            continue
        pending.extend(children(current))


def run_in_turn(
    procs: Sequence[subprocess.Popen], slice_s: float, on_exit: Callable[[subprocess.Popen], None] | None = None
) -> None:
    """Until every process has exited, let each run alone for ``slice_s`` seconds in turn, the others
    stopped; ``on_exit(p)`` is called once for each process, after its slice, when it has exited. A
    process that has exited keeps its turn as an idle slice, so that every pause the others see lasts
    ``slice_s``, before and after it ended."""
    for p in procs[1:]:
        signal_tree(p.pid, signal.SIGSTOP)
    ended: set[int] = set()
    try:
        turn = 0
        while len(ended) < len(procs):
            active = procs[turn]
            if active.poll() is None:
                signal_tree(active.pid, signal.SIGCONT)
            time.sleep(slice_s)
            if active.poll() is None:
                signal_tree(active.pid, signal.SIGSTOP)
            elif turn not in ended:
                ended.add(turn)
                if on_exit is not None:
                    on_exit(active)
            turn = (turn + 1) % len(procs)
    finally:
        # Never leave a stopped process behind (an interrupt, an error here).
        for p in procs:
            if p.poll() is None:
                signal_tree(p.pid, signal.SIGCONT)


def paused_steps(times: Sequence[float], slice_s: float) -> list[bool]:
    """Which step times may hold a pause: those of ``slice_s`` or more (see the module docstring)."""
    return [t >= slice_s for t in times]
