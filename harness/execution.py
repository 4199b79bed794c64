"""Where and how one job runs: the record's ``execution`` object (``harness.records.Execution``), and pinning a
process to its CPUs.

``shared_machine`` is true when the job was not guaranteed the machine to itself (``--parallel``,
``--accuracy-only``, or a Dask job that did not ask for the ``bench`` resource): its step times must not
enter speed verdicts, while its accuracy, loss and epochs stay valid.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from pathlib import Path

from .records import Execution

EXECUTORS: tuple[str, ...] = ("local", "dask")


def execution_here(executor: str, shared_machine: bool, cpus: Iterable[int] | None) -> Execution:
    """The record's ``execution`` object for a job running in this process."""
    return Execution(executor, socket.gethostname(), shared_machine, None if cpus is None else sorted(cpus))


def pin_to_cpus(cpus: Iterable[int]) -> tuple[int, ...] | None:
    """Pin every thread of this process, and every thread it starts later, to ``cpus``; the CPUs in effect
    afterwards, or None where the OS cannot pin (not Linux).

    Each existing thread is pinned by its id because Linux sets affinity per thread: a BLAS pool started
    at import would otherwise keep running on every core."""
    wanted = set(cpus)
    if not hasattr(os, "sched_setaffinity"):
        return None
    tasks = Path("/proc/self/task")
    tids = [int(t) for t in os.listdir(tasks)] if tasks.is_dir() else [0]
    for tid in tids:
        try:
            os.sched_setaffinity(tid, wanted)
        except ProcessLookupError:  # a thread that ended meanwhile
            pass
    return tuple(sorted(os.sched_getaffinity(0)))


def cpu_slots(n: int, threads: int, available: Iterable[int] | None = None) -> list[tuple[int, ...]]:
    """``n`` disjoint sets of ``threads`` CPUs each, from the CPUs this process may use."""
    cores = sorted(available if available is not None else _available_cpus())
    if n * threads > len(cores):
        raise ValueError(f"{n} jobs x {threads} thread(s) need {n * threads} cores; {len(cores)} available")
    return [tuple(cores[i * threads : (i + 1) * threads]) for i in range(n)]


def _available_cpus() -> set[int]:
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))
