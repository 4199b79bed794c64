"""Pure statistics: no I/O, no global state, NumPy/SciPy only. Tested on fixed inputs in tests/.

Percentiles use NumPy's default (linear interpolation); every function takes raw samples, never
pre-aggregated numbers, so reports and checks derive everything from the records' raw values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats as _sps


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float  # sample standard deviation (ddof=1); nan when n < 2
    median: float
    p10: float
    p90: float
    min: float
    max: float


def summarize(values: Sequence[float]) -> Summary:
    a = _finite(values)
    if a.size == 0:
        nan = math.nan
        return Summary(0, nan, nan, nan, nan, nan, nan, nan)
    p10, median, p90 = np.percentile(a, [10, 50, 90])
    return Summary(
        n=int(a.size),
        mean=float(a.mean()),
        std=float(a.std(ddof=1)) if a.size > 1 else math.nan,
        median=float(median),
        p10=float(p10),
        p90=float(p90),
        min=float(a.min()),
        max=float(a.max()),
    )


@dataclass(frozen=True)
class MeanCI:
    n: int
    mean: float
    std: float
    low: float  # nan when n < 2: one sample gives no interval
    high: float
    confidence: float


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> MeanCI:
    """Mean with a Student-t confidence interval (small seed counts: the t distribution, not normal)."""
    a = _finite(values)
    n = int(a.size)
    if n == 0:
        return MeanCI(0, math.nan, math.nan, math.nan, math.nan, confidence)
    mean = float(a.mean())
    if n < 2:
        return MeanCI(1, mean, math.nan, math.nan, math.nan, confidence)
    std = float(a.std(ddof=1))
    half = float(_sps.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return MeanCI(n, mean, std, mean - half, mean + half, confidence)


def _finite(values: Sequence[float]) -> np.ndarray:
    a = np.asarray(values, dtype=float).ravel()
    return a[np.isfinite(a)]
