"""Pure statistics: no I/O, no global state, NumPy/SciPy only. Tested on fixed inputs in tests/.

Percentiles use NumPy's default (linear interpolation); every function takes raw samples, never
pre-aggregated numbers, so reports and checks derive everything from the records' raw values.

Regression significance (``speed_verdict``, used by ``bench check``)
--------------------------------------------------------------------
The samples are one series of per-step wall times per job, in step order. Those steps are **not**
independent: a busy neighbour, a frequency change or a GC pause slows many consecutive steps, so the
series is autocorrelated. A test that treats thousands of steps as iid (Mann-Whitney U or a plain
bootstrap on raw steps) then gives p-values and intervals far too small: on simulated AR(1) step times
(phi 0.9, 300 steps a side, identical distributions) Mann-Whitney U on raw steps called 63 of 100
comparisons significant at alpha 0.01; the block statistics below, 3 of 100
(``tests/test_stats.py``). We therefore use the *batch means* idea from steady-state
simulation output analysis (Law & Kelton; Schmeiser 1982):

- each job's series is cut into contiguous, non-overlapping **blocks** (``block_length``): long enough
  to span the series' measured memory (twice the lag after which its autocorrelation vanishes), so one
  block's median is nearly independent of the next, and few enough (at most ``MAX_BLOCKS_PER_JOB`` = 30
  per job, the classic 10-30 batches) that each block median is stable. Epochs were considered as the
  blocks and rejected: smoke runs have 1-3 epochs, too few blocks for any test, and an epoch is not
  the unit of the noise (a busy neighbour comes and goes at any step);
- **p-value**: Mann-Whitney U (two-sided) on the candidate's block medians against the baseline's. A rank
  test: distribution-free, robust to the heavy right tail of step times, exact for small block counts;
- **effect**: the ratio of the sides' **fastest block** (the smallest block median over every block of
  every job; candidate / baseline), not of their overall medians. The reason is measured: on the 2-core
  development VM, identical code in back-to-back processes ran at per-process median step times of
  11.4-19.8 ms (torch) and 19.3-39.7 ms (keras) over 80 CI smoke runs, because other tenants of the host
  slow whole stretches of a job, and sometimes a whole job, by up to about 2x (a NumPy workload timed in a loop
  showed the same episodes, with no steal time reported and CPU time equal to wall time). Such episodes
  only ever add time, so the fastest sustained stretch of a side estimates its uncontended speed, and a
  block (several consecutive steps) rather than a single step keeps one lucky step from setting it.
  With one run a side, A/A ratios of fastest blocks still ranged 0.600-1.581 (a whole run can be slowed);
  with three interleaved runs a side, 0.906-1.086 (``scripts/regroup_rounds.py`` on the runs
  ``scripts/prove_check.py --keep`` wrote). The price: a regression that slows
  only a minority of steps (a periodic stall) moves the fastest block little; the median, shown beside
  it, still shows it;
- **one job cannot decide**: the effect must survive leaving out any one job of either side. The
  regression test uses the candidate's fastest block over the baseline's fastest block *from its second-
  fastest job* (the baseline's luckiest job left out); an improvement, the candidate's second-fastest job
  over the baseline's fastest. Between-process noise, not step noise, is what fools a minimum: on the
  development VM the fast level itself differs by 10-20% from one process to the next, and one process
  that caught a fast stretch (or a side none of whose processes did) made identical code look 1.1-1.6x
  slower. On 8 four-round trials recorded after this rule was chosen (``scripts/replay_check.py
  /tmp/prove5/runs --splits``: every 4-vs-4 split of a trial's 8 identical-code runs), it reported 4 A/A
  regressions in 560 rows and caught 77.5% of 25% slowdowns, where the hierarchical job bootstrap it
  replaced reported 5 and caught 53.6%: that bootstrap's interval for a minimum over four jobs was far too
  wide (a job-resampled minimum misses the fast job in about a third of resamples; a 25% slowdown with
  Mann-Whitney p < 1e-9 got an interval from -12% to +121%). With one job a side there is nothing to
  leave out and the point ratio is used;
- **CI**: a seeded bootstrap of the ratio that resamples each side's block medians (the blocks of all
  jobs pooled); percentile interval at confidence 1 - alpha. It covers the step-level noise; the
  leave-one-job-out rule above covers the between-job noise;
- a change is *significant* only when both agree (p < alpha and the CI excludes 1), so the table never
  shows a verdict its own interval contradicts.

Between-process noise is why a side should hold several jobs (``--seeds``) and, where the code under
test allows it, several runs **interleaved** with the other side's (baseline, candidate, baseline, ...:
``bench check`` takes several runs a side), so a slow episode of the host hits both sides. The effect
threshold (``max_slowdown``) covers what remains: a regression needs the ratio beyond 1 + max_slowdown
**and** significance. Improvements use the mirror threshold 1 / (1 + max_slowdown) (symmetric in log
space: swapping baseline and candidate swaps regression and improvement). With six interleaved runs a
side of the CI smoke matrix on the development VM, 20 fresh trials at the defaults reported no A/A
regression and caught all 20 25% slowdowns (README, "Measured error rates"; ``scripts/prove_check.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import partial

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


def one_sample_t_p(values: Sequence[float]) -> float:
    """Two-sided p-value of Student's t-test that the mean is 0 (a paired test on differences). nan with
    fewer than 2 values; with zero spread the answer is exact: 1 if the mean is 0, else 0."""
    a = _finite(values)
    if a.size < 2:
        return math.nan
    std = float(a.std(ddof=1))
    if std == 0.0:
        return 1.0 if float(a.mean()) == 0.0 else 0.0
    t = float(a.mean()) / (std / math.sqrt(a.size))
    return float(2 * _sps.t.sf(abs(t), a.size - 1))


def _finite(values: Sequence[float]) -> np.ndarray:
    a = np.asarray(values, dtype=float).ravel()
    return a[np.isfinite(a)]


# -- significance machinery -------------------------------------------------------------------------

#: At most this many blocks per job series: the batch-means literature's 10-30 batches. Fewer, longer
#: blocks are more nearly independent; 30 keeps enough of them for a rank test and a bootstrap.
MAX_BLOCKS_PER_JOB = 30
#: At least this many blocks per job (when it has that many steps): with one job a side, 8 vs 8 blocks
#: let an exact Mann-Whitney test reach p = 1.6e-4, well below the default alpha of 0.01.
MIN_BLOCKS_PER_JOB = 8
#: Resamples of the block bootstrap: the 0.5% tails of a 99% interval then rest on 10 resamples each.
N_RESAMPLES = 2000

#: One series of samples (a job's step times), or several (one per job), each in measurement order.
SeriesLike = Sequence[float] | np.ndarray | Sequence[Sequence[float]] | Sequence[np.ndarray]


def block_length(series: Sequence[float]) -> int:
    """Steps per block for one job's series of n steps: the largest of

    - n^(1/3), the block bootstrap's classic rate (Hall, Horowitz & Jing 1995);
    - n / MAX_BLOCKS_PER_JOB, so a job has at most 30 blocks;
    - 2 * m, where m is the lag after which the sample autocorrelation stays indistinguishable from
      zero (Politis & White 2004's first step): a block then spans the series' memory, so block medians
      are nearly independent even when a slow drift makes steps correlated over many lags;

    capped at n / MIN_BLOCKS_PER_JOB so that one job still gives enough blocks for a rank test (a
    series correlated beyond that is compared less honestly; the effect threshold covers the rest).
    """
    a = _positive(series)
    n = int(a.size)
    if n < 2 * MIN_BLOCKS_PER_JOB:
        return 1  # too short to cut into blocks of two or more: every step is its own block
    # The autocorrelation of log step times: a few large spikes (GC, a descheduled thread) then do not
    # dominate the estimate of the series' memory.
    wanted = max(math.ceil(n ** (1 / 3)), math.ceil(n / MAX_BLOCKS_PER_JOB), 2 * correlation_lag(np.log(a)))
    return max(1, min(wanted, n // MIN_BLOCKS_PER_JOB))


def correlation_lag(series: Sequence[float]) -> int:
    """Politis & White's m-hat: the smallest lag m after which K consecutive sample autocorrelations
    are all within c * sqrt(log10(n) / n) of zero (c = 2, K = max(5, sqrt(log10 n))). 0 for white noise."""
    a = _finite(series)
    n = int(a.size)
    if n < 8:
        return 0
    x = a - a.mean()
    var = float(x @ x)
    if var == 0.0:
        return 0
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n] / var  # acf[k]: lag-k autocorrelation
    k_n = max(5, math.ceil(math.sqrt(math.log10(n))))
    small = np.abs(acf[1:]) < 2.0 * math.sqrt(math.log10(n) / n)  # small[j]: lag j + 1
    run = 0
    for j, ok in enumerate(small):
        run = run + 1 if ok else 0
        if run == k_n:
            return j + 1 - k_n  # the last lag before the run of small autocorrelations
    return n // 2


def split_blocks(series: Sequence[float]) -> list[np.ndarray]:
    """Contiguous, non-overlapping blocks of near-equal size (sizes differ by at most one)."""
    a = _positive(series)
    if a.size == 0:
        return []
    return np.array_split(a, max(1, a.size // block_length(a)))


def job_block_medians(blocked: Sequence[Sequence[np.ndarray]]) -> list[np.ndarray]:
    """Each job's block medians, one array per job that has blocks (``blocked``: one list of blocks per job)."""
    return [_nanmedian_rows(_padded_blocks(blocks)) for blocks in blocked if blocks]


def block_medians(blocked: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """The median of every block of every job, pooled."""
    return _pooled(job_block_medians(blocked))


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value (scipy picks the exact distribution for small samples); nan if
    either side is empty."""
    x, y = _finite(a), _finite(b)
    if x.size == 0 or y.size == 0:
        return math.nan
    return float(_sps.mannwhitneyu(x, y, alternative="two-sided").pvalue)


def min_mann_whitney_p(m: int, n: int) -> float:
    """Smallest two-sided p-value an exact Mann-Whitney U test of m vs n values can reach (no ties):
    when it is not below alpha, no data could be significant and the verdict is inconclusive."""
    if m < 1 or n < 1:
        return 1.0
    return min(1.0, 2.0 / math.comb(m + n, m))


def fastest_block(blocked: Sequence[Sequence[np.ndarray]]) -> float:
    """The side's speed: the smallest block median over every block of every job (nan when none)."""
    return _fastest(job_fastest_blocks(blocked))


def job_fastest_blocks(blocked: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """Each job's fastest block median, sorted ascending (one value per job that has blocks)."""
    return _sorted_minima(job_block_medians(blocked))


def _pooled(per_job: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(per_job) if per_job else np.empty(0)


def _sorted_minima(per_job: list[np.ndarray]) -> np.ndarray:
    return np.sort([float(m.min()) for m in per_job])


def _fastest(sorted_minima: np.ndarray) -> float:
    return float(sorted_minima[0]) if sorted_minima.size else math.nan


def leave_one_job_out(jobs_baseline: np.ndarray, jobs_candidate: np.ndarray) -> tuple[float, float]:
    """The fastest-block ratio (candidate / baseline) at its least extreme when any one job is left out of
    either side: (low, high) = (candidate's fastest / baseline's second fastest, candidate's second fastest /
    baseline's fastest). Inputs sorted ascending; a side with one job has nothing to leave out."""
    second = lambda jobs: jobs[1] if jobs.size > 1 else jobs[0]  # noqa: E731
    return float(jobs_candidate[0] / second(jobs_baseline)), float(second(jobs_candidate) / jobs_baseline[0])


def iid_bootstrap_min(values: Sequence[float], n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    a = _positive(values)
    return a[rng.integers(0, a.size, size=(n_resamples, a.size))].min(axis=1)


class Change(str, Enum):  # noqa: UP042 - one enum with check.Verdict is due
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    NO_CHANGE = "no significant change"
    INCONCLUSIVE = "inconclusive"  # too little data for the test to ever reach significance


@dataclass(frozen=True)
class SpeedVerdict:
    change: Change
    ratio: float  # candidate / baseline fastest block median (over the calibration ratio when normalised)
    low: float  # bootstrap CI of ratio, confidence 1 - alpha
    high: float
    robust_low: float  # the ratio with the baseline's fastest job left out (what a regression must exceed)
    robust_high: float  # with the candidate's fastest job left out (what an improvement must stay below)
    p_value: float  # Mann-Whitney U on block medians (two-sided)
    median_baseline: float  # raw step-time medians over all timed steps, seconds (what a table shows)
    median_candidate: float
    fastest_baseline: float  # raw fastest block medians, seconds (what the ratio compares)
    fastest_candidate: float
    n_baseline: int  # timed steps
    n_candidate: int
    blocks_baseline: int
    blocks_candidate: int
    jobs_baseline: int
    jobs_candidate: int
    normalised: bool
    reason: str  # one line: why this verdict


def speed_verdict(
    baseline: SeriesLike,
    candidate: SeriesLike,
    max_slowdown: float = 0.10,
    alpha: float = 0.01,
    *,
    baseline_scale: Sequence[float] | None = None,
    candidate_scale: Sequence[float] | None = None,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> SpeedVerdict:
    """Compare step times: regression / improvement / no significant change (see the module docstring).

    ``baseline`` and ``candidate``: one series of step times or a list of them (one per job, in step
    order; blocks never cross jobs). ``*_scale``: calibration timings of each side; when both are given
    the step times are divided by their fastest calibration (machine speed, measured the way the steps
    are), and the bootstrap resamples the calibration timings too, so their noise widens the interval.
    Non-finite and non-positive values are dropped. Deterministic for a given ``seed``.
    """
    base, cand = _as_series(baseline), _as_series(candidate)
    blocks_b, blocks_c = [split_blocks(s) for s in base], [split_blocks(s) for s in cand]
    n_b, n_c = sum(s.size for s in base), sum(s.size for s in cand)
    med_b = float(np.median(np.concatenate(base))) if n_b else math.nan
    med_c = float(np.median(np.concatenate(cand))) if n_c else math.nan
    # Each job's block medians, computed once: pooled for the test and the bootstrap, per job for the
    # fastest block and the leave-one-job-out range.
    per_job_b, per_job_c = job_block_medians(blocks_b), job_block_medians(blocks_c)
    bm_b, bm_c = _pooled(per_job_b), _pooled(per_job_c)
    jobs_b, jobs_c = _sorted_minima(per_job_b), _sorted_minima(per_job_c)
    fast_b, fast_c = _fastest(jobs_b), _fastest(jobs_c)
    normalised = baseline_scale is not None and candidate_scale is not None
    scale_b = _positive(baseline_scale) if normalised else np.ones(1)
    scale_c = _positive(candidate_scale) if normalised else np.ones(1)

    def result(
        change: Change,
        reason: str,
        ratio=math.nan,
        low=math.nan,
        high=math.nan,
        p=math.nan,
        robust=(math.nan, math.nan),
    ):
        return SpeedVerdict(
            change,
            ratio,
            low,
            high,
            *robust,
            p,
            med_b,
            med_c,
            fast_b,
            fast_c,
            n_b,
            n_c,
            bm_b.size,
            bm_c.size,
            len(base),
            len(cand),
            normalised,
            reason,
        )

    if n_b == 0 or n_c == 0:
        return result(Change.INCONCLUSIVE, f"no timed steps ({n_b} baseline, {n_c} candidate)")
    if scale_b.size == 0 or scale_c.size == 0:
        return result(Change.INCONCLUSIVE, "no calibration timings to normalise by")
    scale = float(scale_c.min()) / float(scale_b.min())
    ratio = (fast_c / fast_b) / scale
    floor = min_mann_whitney_p(bm_b.size, bm_c.size)
    if floor >= alpha:
        return result(
            Change.INCONCLUSIVE,
            f"{bm_b.size} vs {bm_c.size} blocks cannot reach p < {alpha:g} "
            f"(smallest possible p {floor:.2g}): record more steps",
            ratio,
        )
    rng = np.random.default_rng(seed)
    boot = iid_bootstrap_min(bm_c, n_resamples, rng) / iid_bootstrap_min(bm_b, n_resamples, rng)
    if normalised:
        boot /= iid_bootstrap_min(scale_c, n_resamples, rng) / iid_bootstrap_min(scale_b, n_resamples, rng)
    low, high = (float(q) for q in np.quantile(boot, [alpha / 2, 1 - alpha / 2]))
    robust = tuple(r / scale for r in leave_one_job_out(jobs_b, jobs_c))
    p = mann_whitney_p(bm_c / float(scale_c.min()), bm_b / float(scale_b.min()))
    up, down = 1.0 + max_slowdown, 1.0 / (1.0 + max_slowdown)
    significant = p < alpha and (low > 1.0 or high < 1.0)
    pct = f"{ratio - 1:+.1%}"
    done = partial(result, ratio=ratio, low=low, high=high, p=p, robust=robust)
    several = len(base) > 1 or len(cand) > 1
    if significant and robust[0] > up and low > 1.0:
        kept = f" (at least {robust[0] - 1:+.1%} with any one job left out)" if several else ""
        return done(Change.REGRESSION, f"{pct} slower{kept}, beyond {max_slowdown:.0%}, p={p:.2g} < {alpha:g}")
    if significant and robust[1] < down and high < 1.0:
        kept = f" (at least {1 - robust[1]:.1%} with any one job left out)" if several else ""
        return done(Change.IMPROVEMENT, f"{1 - ratio:.1%} faster{kept}, beyond {1 - down:.1%}, p={p:.2g} < {alpha:g}")
    if significant and not down <= ratio <= up:  # beyond the threshold, but not once one job is left out
        kept = robust[0] if ratio > up else robust[1]
        return done(Change.NO_CHANGE, f"{pct} rests on one job: {kept - 1:+.1%} with it left out, within the threshold")
    why = f"{pct} is within the threshold" if down <= ratio <= up else f"{pct} is not significant (p={p:.2g})"
    return done(Change.NO_CHANGE, why)


@dataclass(frozen=True)
class Welch:
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    diff: float  # mean_b - mean_a
    low: float  # CI of diff (Welch-Satterthwaite degrees of freedom)
    high: float
    p_value: float  # two-sided
    df: float
    confidence: float


def welch(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Welch:
    """Welch's unequal-variance t-test of mean(b) - mean(a), with its confidence interval.

    nan p and interval when a side has fewer than 2 values. When both sides have zero variance the
    t statistic is undefined; the difference is then exact: p = 1 if the means are equal, else 0.
    """
    x, y = _finite(a), _finite(b)
    mean_a = float(x.mean()) if x.size else math.nan
    mean_b = float(y.mean()) if y.size else math.nan
    diff = mean_b - mean_a
    if x.size < 2 or y.size < 2:
        return Welch(int(x.size), int(y.size), mean_a, mean_b, diff, math.nan, math.nan, math.nan, math.nan, confidence)
    va, vb = float(x.var(ddof=1)) / x.size, float(y.var(ddof=1)) / y.size
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Welch(
            int(x.size), int(y.size), mean_a, mean_b, diff, diff, diff, 1.0 if diff == 0 else 0.0, math.inf, confidence
        )
    df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    p = float(2 * _sps.t.sf(abs(diff) / se, df))
    half = float(_sps.t.ppf(0.5 + confidence / 2, df)) * se
    return Welch(int(x.size), int(y.size), mean_a, mean_b, diff, diff - half, diff + half, p, float(df), confidence)


def _as_series(values: SeriesLike) -> list[np.ndarray]:
    if isinstance(values, np.ndarray) and values.ndim == 1:
        return [_positive(values)] if values.size else []
    items = list(values)
    if items and all(np.ndim(v) == 0 for v in items):
        return [_positive(items)]
    return [a for a in (_positive(v) for v in items) if a.size]


def _positive(values: Sequence[float] | None) -> np.ndarray:
    """Finite, strictly positive values: a step or calibration time of 0 or below is a recording bug."""
    if values is None:
        return np.empty(0)
    a = _finite(values)
    return a[a > 0]


def _nanmedian_rows(x: np.ndarray, axis: int = 1) -> np.ndarray:
    """Row medians ignoring nan, vectorised (np.nanmedian loops over rows in Python for this shape)."""
    ordered = np.sort(x, axis=axis)  # nan sorts last
    count = (~np.isnan(x)).sum(axis=axis)
    lo = np.take_along_axis(ordered, ((count - 1) // 2)[:, None], axis=axis)[:, 0]
    hi = np.take_along_axis(ordered, (count // 2)[:, None], axis=axis)[:, 0]
    return (lo + hi) / 2


def _padded_blocks(blocks: list[np.ndarray]) -> np.ndarray:
    """Blocks as rows of one matrix, the shorter ones padded with nan (sizes differ by at most one)."""
    width = max(b.size for b in blocks)
    out = np.full((len(blocks), width), np.nan)
    for i, b in enumerate(blocks):
        out[i, : b.size] = b
    return out
