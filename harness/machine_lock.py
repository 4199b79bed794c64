"""The machine's timing lock: one timing run (or one timed Dask job) per machine at a time.

Two timing runs at once make each other's step times meaningless (two torch jobs pinning two threads each
on a 2-core machine ran tens of times slower). The lock is ``flock`` on ``timing.lock`` in the user cache
(``harness.data.cache.user_cache_dir``: ``$BENCH_CACHE_DIR``, ``$XDG_CACHE_HOME/rnn-bench``,
``~/.cache/rnn-bench``); the kernel releases it when its holder exits, however it exits. The file holds
the holder's description, so that a run waiting for it can say which run it waits for. ``flock`` locks
belong to an open file, so two holders in one process exclude each other too.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from .atomic import write_error
from .data.cache import CACHE_ENV, user_cache_dir
from .errors import BenchError

LOCK_FILE = "timing.lock"
_POLL_S = 0.5


@dataclass(frozen=True)
class Holder:
    run: str
    pid: int
    host: str
    started_at: str
    job: str | None = None  # set when one Dask job holds it, not a whole run

    @classmethod
    def this_process(cls, run: str, started_at: str, job: str | None = None) -> Holder:
        return cls(run, os.getpid(), socket.gethostname(), started_at, job)

    def describe(self) -> str:
        what = f"run {self.run}" + (f" (job {self.job})" if self.job else "")
        return f"{what}, pid {self.pid} on {self.host}, since {self.started_at}"


def lock_path(cache_dir: str | Path | None = None) -> Path:
    return user_cache_dir(cache_dir) / LOCK_FILE


@contextlib.contextmanager
def timing_lock(
    holder: Holder,
    wait: bool = True,
    on_wait: Callable[[str], None] = lambda text: None,
    cache_dir: str | Path | None = None,
) -> Iterator[Path]:
    """Hold the machine's timing lock for the duration of the block. When another holds it: wait (telling
    ``on_wait`` whom for, again when that changes), or with ``wait=False`` fail at once (BenchError)."""
    path = lock_path(cache_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise BenchError(f"{write_error(path, err)} (or set {CACHE_ENV}; --accuracy-only runs need no lock)") from None
    try:
        announced: str | None = None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                other = _read_holder(fd)
                if not wait:
                    raise BenchError(
                        f"another timing run has this machine ({other}; lock {path}): run again when it is done, "
                        "drop --no-wait to wait for it, or use --accuracy-only if step times do not matter"
                    ) from None
                if other != announced:
                    on_wait(f"waiting for this machine's timing lock, held by {other} ({path}); Ctrl-C gives up")
                    announced = other
                time.sleep(_POLL_S)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(asdict(holder)).encode(), 0)
        except OSError as err:
            raise write_error(path, err) from None
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # not held any more: nobody to name
    finally:
        os.close(fd)  # releases the lock


def _read_holder(fd: int) -> str:
    try:
        return Holder(**json.loads(os.pread(fd, 4096, 0).decode())).describe()
    except (OSError, ValueError, TypeError):
        return "another process (it has not said which run yet)"
