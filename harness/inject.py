"""A slowdown injected into every training step, for ``bench check calibrate`` only: it measures how well
the regression gate sees a known slowdown on the user's own machine.

The calibration sets ``ENV`` for the runs it slows; the worker then busy-waits ``fraction`` of each step's
own time right after the step, inside the step's timing (busy, not asleep: a sleeping thread would free its
core, which a real slowdown does not), and records the step's own time and the wait under
``runtime.injected_slowdown`` in the job record. So such a run never passes for a real one: ``bench check``
says so in a note and ``bench baseline save`` refuses it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

from .errors import BenchError

ENV = "RNN_BENCH_CALIBRATION_SLOWDOWN"
#: The record key (under ``runtime``): {"fraction", "step_s": own step times, "wait_s": the waits}.
RECORD_KEY = "injected_slowdown"


def requested(environ: Mapping[str, str]) -> float:
    """The fraction of each step to add (0 when ``ENV`` is unset); BenchError when it is not a number >= 0."""
    value = environ.get(ENV, "").strip()
    if not value:
        return 0.0
    try:
        fraction = float(value)
    except ValueError:
        fraction = math.nan
    if not (math.isfinite(fraction) and fraction >= 0):
        raise BenchError(f"{ENV}={value!r} is not a fraction >= 0; unset it (bench check calibrate sets it)")
    return fraction


def busy_wait(seconds: float, clock: Callable[[], float] = time.perf_counter) -> float:
    """Spin for at least ``seconds``; returns the time spent, measured with ``clock``."""
    start = clock()
    until = start + seconds
    now = start
    while now < until:
        now = clock()
    return now - start


def recorded_fraction(runtime: Mapping) -> float:
    """The slowdown a job record's ``runtime`` says was injected (0 for a real run)."""
    return float((runtime.get(RECORD_KEY) or {}).get("fraction") or 0.0)
