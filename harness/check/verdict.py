"""The typed outcome of one comparison (``Verdict``, ``Row``) and the thresholds that decide it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    NO_CHANGE = "no significant change"
    INCONCLUSIVE = "inconclusive"  # too little data for the test to ever reach significance
    FAILED = "failed"  # the candidate's job did not finish where the baseline's did
    NOT_COMPARED = "not compared"  # only one side has this backend x cell

    @property
    def fails(self) -> bool:
        return self in (Verdict.REGRESSION, Verdict.FAILED)


@dataclass(frozen=True)
class Thresholds:
    max_slowdown: float = 0.10
    max_acc_drop: float = 0.01
    alpha: float = 0.01
    normalize: str = "auto"  # auto | always | never


@dataclass(frozen=True)
class Row:
    backend: str
    cell: str
    metric: str  # "step time" | "test acc" | "best val acc" | "job"
    seeds: str  # the seeds behind the numbers, e.g. "0" or "0,1,2" or "0 vs 1"
    verdict: Verdict
    detail: str  # one line: why this verdict
    method: str = ""  # how it was decided
    baseline: float | None = None  # step time: raw fastest block median, seconds; accuracy: value or mean
    candidate: float | None = None
    change: float | None = None  # step time: ratio - 1 (normalised if so); accuracy: candidate - baseline
    low: float | None = None  # confidence interval of change
    high: float | None = None
    p_value: float | None = None


def seed_label(base: Iterable[int], cand: Iterable[int] | None = None) -> str:
    """ "0,1,2" for one side or equal sides, "0 vs 1" when they differ."""
    b = ",".join(map(str, sorted(base)))
    c = b if cand is None else ",".join(map(str, sorted(cand)))
    return b if b == c else f"{b} vs {c}"


def finite_or_none(x: float | None) -> float | None:
    """A number for a Row: None where there is none (nan, inf: JSON cannot hold them)."""
    return None if x is None or not math.isfinite(x) else float(x)
