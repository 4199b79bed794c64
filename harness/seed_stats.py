"""Many-seed statistics: paired comparisons of two backends over the same seeds, and how much a comparison
with this many seeds can detect. Pure: NumPy/SciPy only, no I/O; policy (thresholds, wording) lives with
the callers. Means and intervals come from ``harness.stats``.

Why paired: in matched mode a seed fixes the initial weights and every batch, for every backend, so the
two results of one seed share most of their seed-to-seed variation. Their difference cancels it, and a
test on the differences (paired t, or Wilcoxon's signed-rank test, which needs no normality) sees a
backend effect that a two-sample test would drown in seed noise.

Power (the "power hint"): for a two-sided paired t-test at level ``alpha`` on ``n`` differences with
standard deviation ``sd``, the power against a true mean difference ``delta`` is exact from the noncentral
t distribution (df n - 1, noncentrality delta * sqrt(n) / sd). The smallest detectable difference is the
``delta`` reaching the wanted power; the seeds needed for a target difference, the smallest ``n`` that
reaches it, taking the observed ``sd`` as the truth (a hint: ``sd`` itself is estimated from few seeds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize as _opt
from scipy import stats as _sps

from harness import stats

#: No search for a seed count beyond this: "more than MAX_SEEDS" is answer enough.
MAX_SEEDS = 10_000


@dataclass(frozen=True)
class Paired:
    n: int  # pairs with a finite value on both sides
    mean_a: float
    mean_b: float
    diff: float  # mean of (b - a) over the pairs
    sd: float  # sample sd of the differences (nan with one pair)
    low: float  # Student-t confidence interval of the mean difference (nan with one pair)
    high: float
    t_p: float  # paired t-test, two-sided (nan with one pair)
    wilcoxon_p: float  # Wilcoxon signed-rank, two-sided (nan with one pair; 1.0 when every difference is 0)
    confidence: float


def paired(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Paired:
    """Compare ``b`` with ``a``, element i of each being the same seed. Pairs with a non-finite side are
    dropped. Wilcoxon's p is exact where SciPy can compute it exactly (small n, no ties or zeros)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired samples must have the same length ({x.size} and {y.size})")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    d = y - x
    ci = stats.mean_ci(d, confidence)
    nan = math.nan
    return Paired(
        n=int(d.size),
        mean_a=float(x.mean()) if x.size else nan,
        mean_b=float(y.mean()) if y.size else nan,
        diff=ci.mean,
        sd=ci.std,
        low=ci.low,
        high=ci.high,
        t_p=stats.one_sample_t_p(d),
        wilcoxon_p=wilcoxon_p(d),
        confidence=confidence,
    )


def wilcoxon_p(differences: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p of the differences (zeros dropped, Wilcox's convention); nan with
    fewer than 2 values; 1.0 when every difference is 0 (nothing to rank, no evidence of a difference)."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return math.nan
    if not np.any(d != 0):
        return 1.0
    return float(_sps.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def paired_t_power(delta: float, sd: float, n: int, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t-test at level ``alpha`` with ``n`` pairs whose differences have
    standard deviation ``sd``, against a true mean difference ``delta``. nan with fewer than 2 pairs."""
    if n < 2 or not math.isfinite(sd) or sd < 0:
        return math.nan
    if sd == 0:
        return 1.0 if delta != 0 else alpha  # no noise: any true difference is seen exactly
    df = n - 1
    crit = float(_sps.t.ppf(1 - alpha / 2, df))
    nc = abs(delta) * math.sqrt(n) / sd
    upper, lower = float(_sps.nct.sf(crit, df, nc)), float(_sps.nct.cdf(-crit, df, nc))
    # SciPy's noncentral t returns nan for tails that underflow (far from the noncentrality): they are 0.
    lower = lower if math.isfinite(lower) else 0.0
    upper = upper if math.isfinite(upper) else float(nc > crit)
    return upper + lower


def detectable_difference(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true mean difference that ``n`` pairs detect with the given power (same units as
    ``sd``); 0 when the differences have no spread; nan with fewer than 2 pairs or an unknown sd."""
    if n < 2 or not math.isfinite(sd) or sd < 0:
        return math.nan
    if sd == 0:
        return 0.0
    hi = sd
    while paired_t_power(hi, sd, n, alpha) < power:  # n = 2 needs about 20 sd: grow until bracketed
        hi *= 2
    return float(_opt.brentq(lambda delta: paired_t_power(delta, sd, n, alpha) - power, 0.0, hi, xtol=sd * 1e-9))


def seeds_needed(
    sd: float, delta: float, alpha: float = 0.05, power: float = 0.8, max_seeds: int = MAX_SEEDS
) -> int | None:
    """The smallest number of pairs (at least 2) whose paired t-test detects a true mean difference
    ``delta`` with the given power, if the differences' sd is ``sd``. None when more than ``max_seeds``
    would be needed or ``sd`` is unknown."""
    if not math.isfinite(sd) or sd < 0 or delta == 0:
        return None
    if sd == 0:
        return 2
    # The normal approximation never overstates the n needed: start there (or at 2) and step up.
    z = float(_sps.norm.ppf(1 - alpha / 2) + _sps.norm.ppf(power))
    n = max(2, math.floor((z * sd / abs(delta)) ** 2))
    while n <= max_seeds:
        if paired_t_power(delta, sd, n, alpha) >= power:
            return n
        n += 1
    return None


@dataclass(frozen=True)
class PowerHint:
    detectable: float  # smallest true difference these pairs detect with ``power`` (nan: fewer than 2)
    target: float  # the difference asked about (e.g. 0.01: one accuracy point)
    seeds_for_target: int | None  # pairs needed to detect ``target`` (None: unknown, or > MAX_SEEDS)
    alpha: float
    power: float


def power_hint(sd: float, n: int, target: float, alpha: float = 0.05, power: float = 0.8) -> PowerHint:
    """What a paired comparison with ``n`` pairs and differences of sd ``sd`` could detect, and how many
    pairs would detect ``target``."""
    return PowerHint(
        detectable=detectable_difference(sd, n, alpha, power),
        target=target,
        seeds_for_target=seeds_needed(sd, target, alpha, power) if n >= 2 else None,
        alpha=alpha,
        power=power,
    )
