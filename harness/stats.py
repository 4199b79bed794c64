"""Pure statistics: no I/O, no global state, no thresholds or verdicts (those are ``harness.check``'s).

Every function takes raw samples, never pre-aggregated numbers; percentiles use NumPy's default (linear
interpolation). The speed comparison (``compare_speed``) uses batch means on block medians, the fastest
block and a leave-one-job-out range; why, with the measurements behind each choice: docs/methodology.md,
"Statistics of bench check".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


def _finite(values: Iterable[float]) -> np.ndarray:
    if not isinstance(values, np.ndarray | Sequence):
        values = list(values)  # a generator
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
    a = positive(series)
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
    a = positive(series)
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
    a = positive(values)
    return a[rng.integers(0, a.size, size=(n_resamples, a.size))].min(axis=1)


@dataclass(frozen=True, eq=False)
class JobSteps:
    """One job's timed steps (finite, positive, in step order) and their block medians, computed once so that
    many comparisons of the same jobs (``bench check calibrate`` replays thousands) do not redo them."""

    steps: np.ndarray
    block_medians: np.ndarray


def job_steps(series: Sequence[float]) -> JobSteps:
    a = positive(series)
    medians = job_block_medians([split_blocks(a)])
    return JobSteps(a, medians[0] if medians else np.empty(0))


@dataclass(frozen=True)
class SpeedComparison:
    """The numbers behind a step-time comparison of a candidate against a baseline; no verdict."""

    ratio: float  # candidate / baseline fastest block median (over the calibration ratio when normalised)
    low: float  # bootstrap interval of ratio, confidence 1 - alpha (nan when no test was possible)
    high: float
    robust_low: float  # the ratio with the baseline's fastest job left out
    robust_high: float  # with the candidate's fastest job left out
    p_value: float  # Mann-Whitney U on block medians (two-sided)
    min_p_value: float  # the smallest p these block counts could ever give
    median_baseline: float  # raw step-time medians over all timed steps, seconds
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
    problem: str = ""  # why no ratio could be computed ("" when one was)


def compare_speed(
    baseline: SeriesLike | Sequence[JobSteps],
    candidate: SeriesLike | Sequence[JobSteps],
    alpha: float = 0.01,
    *,
    baseline_scale: Sequence[float] | None = None,
    candidate_scale: Sequence[float] | None = None,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> SpeedComparison:
    """Fastest-block ratio, its bootstrap interval, its leave-one-job-out range and the rank test's p.

    ``baseline`` and ``candidate``: one series of step times, a list of them (one per job, in step order;
    blocks never cross jobs), or ``JobSteps``. ``*_scale``: calibration timings of each side; when both are
    given the step times are divided by their fastest calibration, and the bootstrap resamples the
    calibration timings too. Non-finite and non-positive values are dropped. ``alpha`` sets the interval's
    confidence; when the block counts cannot reach p < alpha, no test is run (p and interval nan).
    Deterministic for a given ``seed``.
    """
    base, cand = _as_jobs(baseline), _as_jobs(candidate)
    n_b, n_c = sum(j.steps.size for j in base), sum(j.steps.size for j in cand)
    med_b = float(np.median(np.concatenate([j.steps for j in base]))) if n_b else math.nan
    med_c = float(np.median(np.concatenate([j.steps for j in cand]))) if n_c else math.nan
    per_job_b = [j.block_medians for j in base if j.block_medians.size]
    per_job_c = [j.block_medians for j in cand if j.block_medians.size]
    bm_b, bm_c = _pooled(per_job_b), _pooled(per_job_c)
    jobs_b, jobs_c = _sorted_minima(per_job_b), _sorted_minima(per_job_c)
    fast_b, fast_c = _fastest(jobs_b), _fastest(jobs_c)
    normalised = baseline_scale is not None and candidate_scale is not None
    scale_b = positive(baseline_scale) if normalised else np.ones(1)
    scale_c = positive(candidate_scale) if normalised else np.ones(1)
    floor = min_mann_whitney_p(bm_b.size, bm_c.size)
    nan = math.nan
    result = partial(
        SpeedComparison,
        min_p_value=floor,
        median_baseline=med_b,
        median_candidate=med_c,
        fastest_baseline=fast_b,
        fastest_candidate=fast_c,
        n_baseline=n_b,
        n_candidate=n_c,
        blocks_baseline=bm_b.size,
        blocks_candidate=bm_c.size,
        jobs_baseline=len(base),
        jobs_candidate=len(cand),
        normalised=normalised,
    )
    if n_b == 0 or n_c == 0:
        return result(nan, nan, nan, nan, nan, nan, problem=f"no timed steps ({n_b} baseline, {n_c} candidate)")
    if scale_b.size == 0 or scale_c.size == 0:
        return result(nan, nan, nan, nan, nan, nan, problem="no calibration timings to normalise by")
    scale = float(scale_c.min()) / float(scale_b.min())
    ratio = (fast_c / fast_b) / scale
    if floor >= alpha:
        return result(ratio, nan, nan, nan, nan, nan)
    rng = np.random.default_rng(seed)
    boot = iid_bootstrap_min(bm_c, n_resamples, rng) / iid_bootstrap_min(bm_b, n_resamples, rng)
    if normalised:
        boot /= iid_bootstrap_min(scale_c, n_resamples, rng) / iid_bootstrap_min(scale_b, n_resamples, rng)
    low, high = (float(q) for q in np.quantile(boot, [alpha / 2, 1 - alpha / 2]))
    robust_low, robust_high = (r / scale for r in leave_one_job_out(jobs_b, jobs_c))
    p = mann_whitney_p(bm_c / float(scale_c.min()), bm_b / float(scale_b.min()))
    return result(ratio, low, high, robust_low, robust_high, p)


# -- paired differences ------------------------------------------------------------------------------

#: Up to this many nonzero differences the signed-rank p-value is exact (2^n sign patterns enumerated).
EXACT_SIGNED_RANK_MAX = 16


def wilcoxon_signed_rank_p(differences: Sequence[float]) -> float:
    """Two-sided p-value of the Wilcoxon signed-rank test that paired differences are centred on 0.

    Zero differences carry no sign and are dropped (Wilcoxon's rule); ties share their mid-rank. Exact
    (every sign pattern of the ranks enumerated) up to ``EXACT_SIGNED_RANK_MAX`` nonzero differences, the
    normal approximation beyond. 1.0 when no difference is nonzero; nan when there are none at all.
    """
    d = _finite(differences)
    if d.size == 0:
        return math.nan
    d = d[d != 0]
    n = int(d.size)
    if n == 0:
        return 1.0
    if n > EXACT_SIGNED_RANK_MAX:
        return float(_sps.wilcoxon(d, method="approx").pvalue)
    ranks = _sps.rankdata(np.abs(d))
    observed = float(ranks[d > 0].sum())
    centre = float(ranks.sum()) / 2
    signs = (np.arange(2**n)[:, None] >> np.arange(n)) & 1  # every subset of ranks taken as positive
    sums = signs @ ranks
    extreme = np.abs(sums - centre) >= abs(observed - centre) - 1e-9
    return float(extreme.mean())


def min_signed_rank_p(n: int) -> float:
    """Smallest two-sided p-value an exact signed-rank test of ``n`` nonzero differences can reach: every
    difference of one sign. When it is not below alpha, no result of these seeds can be significant."""
    return 1.0 if n < 1 else min(1.0, 2.0 / 2**n)


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


def _as_jobs(values: SeriesLike | Sequence[JobSteps]) -> list[JobSteps]:
    """Jobs with at least one timed step: one series, a list of series (one per job), or ``JobSteps``."""
    if isinstance(values, np.ndarray) and values.ndim == 1:
        jobs = [job_steps(values)]
    else:
        items = list(values)
        if items and all(np.ndim(v) == 0 and not isinstance(v, JobSteps) for v in items):
            jobs = [job_steps(items)]
        else:
            jobs = [v if isinstance(v, JobSteps) else job_steps(v) for v in items]
    return [j for j in jobs if j.steps.size]


def positive(values: Iterable[float] | None) -> np.ndarray:
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
