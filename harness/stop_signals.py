"""Ctrl-C, SIGTERM and SIGHUP stop a run the same way: running jobs are stopped and marked interrupted,
finished ones are kept, the manifest says so, and ``bench run`` exits non-zero (128 + the signal number).

SIGTERM is what CI cancellation, ``timeout`` and container stops send; SIGHUP what a closed terminal sends.
Without a handler the runner would die at once and leave its worker (in a session of its own) training.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(KeyboardInterrupt):
    """Raised in the main thread by the first stop signal; a KeyboardInterrupt, so Ctrl-C paths handle it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.run_path: Path | None = None  # the run it stopped, once known (to tell how to resume it)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def describe(signum: int) -> str:
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


@dataclass
class StopState:
    signum: int | None = None

    @property
    def reason(self) -> str | None:
        """What stopped the run, for the interrupted jobs' records and the manifest; None while running."""
        return None if self.signum is None else f"interrupted by {describe(self.signum)}"


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopState]:
    """Within the block, the first stop signal raises ``StopRequested``; later ones are ignored, because the
    stop is under way and bounded (each worker gets a grace period, then SIGKILL). A signal that was being
    ignored (``nohup`` ignores SIGHUP) stays ignored. Outside the main thread, signals are left alone."""
    state = StopState()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum: int, frame: object) -> None:
        if state.signum is None:
            state.signum = signum
            raise StopRequested(signum)

    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for sig, old in previous.items():
        if old is not signal.SIG_IGN:
            signal.signal(sig, handler)
    try:
        yield state
    finally:
        for sig, old in previous.items():
            signal.signal(sig, signal.SIG_DFL if old is None else old)
