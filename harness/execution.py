"""Where and how one job ran: the record's ``execution`` object, and pinning a process to its CPUs.

``shared_machine`` is true when the job was not guaranteed the machine to itself (``--parallel``,
``--accuracy-only``, or a Dask job that did not ask for the ``bench`` resource): its step times must not
enter speed verdicts, while its accuracy, loss and epochs stay valid.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXECUTORS: tuple[str, ...] = ("local", "dask")

EXECUTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["executor", "host", "shared_machine", "cpus"],
    "properties": {
        "executor": {"enum": list(EXECUTORS)},
        "host": {"type": "string"},
        "shared_machine": {"type": "boolean"},
        "cpus": {"oneOf": [{"type": "null"}, {"type": "array", "items": {"type": "integer", "minimum": 0}}]},
    },
}


@dataclass(frozen=True)
class Execution:
    executor: str  # "local" | "dask"
    host: str  # hostname of the machine that ran the job's worker process
    shared_machine: bool
    cpus: tuple[int, ...] | None  # the CPU ids the job was pinned to; None when not pinned

    def to_dict(self) -> dict[str, Any]:
        return {
            "executor": self.executor,
            "host": self.host,
            "shared_machine": self.shared_machine,
            "cpus": None if self.cpus is None else list(self.cpus),
        }

    @classmethod
    def here(cls, executor: str, shared_machine: bool, cpus: Iterable[int] | None) -> Execution:
        return cls(executor, socket.gethostname(), shared_machine, None if cpus is None else tuple(sorted(cpus)))


def execution_of(record: Mapping[str, Any]) -> Execution:
    """A record's execution facts. Records written before they existed ran one job at a time in a fresh
    local process, on the host their environment names."""
    given = record.get("execution")
    if given is None:
        return Execution("local", str(record.get("environment", {}).get("hostname", "")), False, None)
    cpus = given.get("cpus")
    return Execution(
        given["executor"], given["host"], bool(given["shared_machine"]), None if cpus is None else tuple(cpus)
    )


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
