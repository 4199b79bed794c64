"""harness.stats: summaries, intervals, and the regression significance machinery on simulated samples.

The simulations are small (about a hundred steps a side, 500 bootstrap resamples) so the file runs in a
few seconds; the rates they check are the targets of the real check at its default thresholds (docs/methodology.md).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.signal import lfilter

from harness import stats
from harness.check.speed import Verdict, speed_verdict

TRIALS = 100
RESAMPLES = 500  # fewer than the default 2000 for speed; the decisions below are far from the CI edges


def steps(
    rng: np.random.Generator, n: int = 120, ms: float = 20.0, noise: float = 0.05, phi: float = 0.0
) -> np.ndarray:
    """Step times: lognormal around ``ms`` with relative spread ``noise``, AR(1)-correlated with ``phi``."""
    shocks = rng.standard_normal(n) * noise * math.sqrt(1 - phi**2)
    shocks[0] = rng.standard_normal() * noise
    return ms / 1000 * np.exp(lfilter([1.0], [1.0, -phi], shocks))


def verdicts(slowdown: float, phi: float = 0.0, seed: int = 0) -> dict[Verdict, int]:
    rng = np.random.default_rng(seed)
    counts = {verdict: 0 for verdict in Verdict}
    for trial in range(TRIALS):
        v = speed_verdict(
            steps(rng, phi=phi), steps(rng, ms=20.0 * slowdown, phi=phi), n_resamples=RESAMPLES, seed=trial
        )
        counts[v.verdict] += 1
    return counts


# -- summaries ----------------------------------------------------------------------------------------


def test_summarize_edge_cases():
    assert stats.summarize([]).n == 0 and math.isnan(stats.summarize([]).median)
    one = stats.summarize([2.0, float("nan")])
    assert (one.n, one.median, one.min, one.max) == (1, 2.0, 2.0, 2.0) and math.isnan(one.std)
    s = stats.summarize([1.0, 2.0, 3.0, float("inf")])
    assert (s.n, s.mean, s.median) == (3, 2.0, 2.0)


def test_mean_ci_matches_hand_computed_t_interval():
    # mean 2.5, sd sqrt(5/3) = 1.290994, t(0.975, df=3) = 3.182446; half-width 3.182446 * 1.290994 / 2
    ci = stats.mean_ci([1.0, 2.0, 3.0, 4.0])
    assert ci.mean == 2.5
    assert ci.low == pytest.approx(2.5 - 2.054260, abs=1e-5)
    assert ci.high == pytest.approx(2.5 + 2.054260, abs=1e-5)


def test_mean_ci_edge_cases():
    assert stats.mean_ci([]).n == 0 and math.isnan(stats.mean_ci([]).mean)
    one = stats.mean_ci([0.8, float("nan")])
    assert one.n == 1 and one.mean == 0.8 and math.isnan(one.low) and math.isnan(one.high)


# -- Welch and Mann-Whitney ---------------------------------------------------------------------------


def test_welch_matches_scipy():
    a, b = [0.85, 0.86, 0.84, 0.87], [0.80, 0.83, 0.81]
    w = stats.welch(a, b, confidence=0.99)
    ref = sps.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.99)
    assert w.diff == pytest.approx(np.mean(b) - np.mean(a))
    assert w.p_value == pytest.approx(ref.pvalue)
    assert (w.low, w.high) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_welch_edge_cases():
    assert math.isnan(stats.welch([0.8], [0.7, 0.71]).p_value)
    assert math.isnan(stats.welch([], []).diff)
    same = stats.welch([0.8, 0.8], [0.8, 0.8])
    assert same.p_value == 1.0 and same.diff == 0.0
    apart = stats.welch([0.8, 0.8], [0.7, 0.7])
    assert apart.p_value == 0.0 and apart.diff == pytest.approx(-0.1)


def test_mann_whitney_edge_cases():
    assert math.isnan(stats.mann_whitney_p([], [1.0]))
    assert stats.mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / math.comb(10, 5))
    assert stats.min_mann_whitney_p(3, 3) == pytest.approx(0.1)


# -- blocks -------------------------------------------------------------------------------------------


def test_block_length_follows_the_autocorrelation():
    rng = np.random.default_rng(0)
    white = steps(rng, n=1500)
    correlated = steps(rng, n=1500, phi=0.95)
    assert stats.block_length(white) == 50  # n / 30: at most 30 blocks
    assert stats.block_length(correlated) > 50  # spans the series' memory
    assert stats.block_length(steps(rng, n=10)) == 1  # too short: every step its own block
    assert stats.block_length(steps(rng, n=160, phi=0.99)) == 20  # capped: at least 8 blocks a job
    blocks = stats.split_blocks(white)
    assert len(blocks) == 30 and sum(b.size for b in blocks) == 1500


# -- speed verdicts: the error rates the gate targets (docs/methodology.md) -------------------------------


def test_aa_gives_no_regression():
    counts = verdicts(1.0)
    assert counts[Verdict.REGRESSION] <= 1 and counts[Verdict.IMPROVEMENT] <= 1


def test_25_percent_slowdown_is_flagged():
    assert verdicts(1.25)[Verdict.REGRESSION] >= 95


def test_5_percent_slowdown_is_never_a_regression():
    counts = verdicts(1.05)
    assert counts[Verdict.REGRESSION] == 0
    assert counts[Verdict.NO_CHANGE] == TRIALS  # significant, but within the 10% threshold


def test_improvement_is_reported_as_such():
    assert verdicts(0.75)[Verdict.IMPROVEMENT] >= 95


def test_blocks_keep_significance_honest_on_autocorrelated_steps():
    """A/A on AR(1) steps (phi 0.9, like a slowly drifting machine): treating steps as iid makes a large
    share of identical-distribution comparisons "significant"; the block statistics stay near alpha."""
    rng = np.random.default_rng(1)
    naive = block = 0
    for trial in range(TRIALS):
        a, b = steps(rng, n=300, phi=0.9), steps(rng, n=300, phi=0.9)
        naive += stats.mann_whitney_p(a, b) < 0.01
        v = speed_verdict(a, b, n_resamples=RESAMPLES, seed=trial)
        block += v.p_value < 0.01 and (v.low > 1 or v.high < 1)
    assert naive > 30  # 63 of 100 when this was written
    assert block <= 6  # 3 of 100


def test_swapping_sides_swaps_regression_and_improvement():
    rng = np.random.default_rng(2)
    base, cand = steps(rng), steps(rng, ms=26.0)
    forward, backward = speed_verdict(base, cand, seed=1), speed_verdict(cand, base, seed=1)
    assert (forward.verdict, backward.verdict) == (Verdict.REGRESSION, Verdict.IMPROVEMENT)
    assert forward.ratio == pytest.approx(1 / backward.ratio)
    assert forward.low <= forward.ratio <= forward.high


def test_several_jobs_a_side_and_determinism():
    rng = np.random.default_rng(3)
    base = [steps(rng, n=80) for _ in range(3)]
    cand = [steps(rng, n=80, ms=25.0) for _ in range(2)]
    v = speed_verdict(base, cand, seed=7)
    assert v.verdict is Verdict.REGRESSION and (v.n_baseline, v.n_candidate) == (240, 160)
    assert v.blocks_baseline == 3 * v.blocks_candidate / 2  # blocks never span two jobs
    assert speed_verdict(base, cand, seed=7) == v


def contended(rng: np.random.Generator, jobs: int, ms: float = 20.0, n: int = 100) -> list[np.ndarray]:
    """Jobs on a shared host, as seen on the development VM: each job has a 40% chance that another
    tenant slows a contiguous stretch of it (30-100% of its steps, the whole job included) by 1.2-1.8x."""
    out = []
    for _ in range(jobs):
        s = steps(rng, n=n, ms=ms)
        if rng.random() < 0.4:
            length = int(n * rng.uniform(0.3, 1.0))
            start = int(rng.integers(0, n - length + 1))
            s[start : start + length] *= rng.uniform(1.2, 1.8)
        out.append(s)
    return out


def test_fastest_block_survives_contention_that_fools_the_median():
    """Identical code, three jobs a side, contended as above: the ratio of pooled medians wanders well
    past the 10% threshold, the ratio of fastest blocks stays inside it; the verdicts keep both error rates."""
    rng = np.random.default_rng(6)
    median_ratios, alarms, caught = [], 0, 0
    for trial in range(40):
        base, same, slow = contended(rng, 3), contended(rng, 3), contended(rng, 3, ms=25.0)
        median_ratios.append(np.median(np.concatenate(same)) / np.median(np.concatenate(base)))
        v = speed_verdict(base, same, n_resamples=RESAMPLES, seed=trial)
        assert abs(math.log(v.ratio)) < math.log(1.10)
        alarms += v.verdict is not Verdict.NO_CHANGE
        caught += speed_verdict(base, slow, n_resamples=RESAMPLES, seed=trial).verdict is Verdict.REGRESSION
    assert max(abs(math.log(r)) for r in median_ratios) > math.log(1.10)  # what the median would have done
    # 37 of 40 caught when written: a miss is a side whose three jobs were all contended. The 40% chance
    # is harsher than measured (7 of 22 keras jobs, 5 of 22 torch jobs of the CI smoke run).
    assert alarms == 0 and caught >= 36


def test_one_lucky_baseline_job_cannot_make_a_regression():
    """Identical code, but one of three baseline processes caught a fast stretch (10% faster all through):
    the fastest-block ratio is beyond the threshold, yet with that job left out it is not."""
    rng = np.random.default_rng(7)
    base = [steps(rng, ms=17.0), steps(rng), steps(rng)]
    cand = [steps(rng) for _ in range(3)]
    v = speed_verdict(base, cand, n_resamples=RESAMPLES)
    assert v.ratio > 1.10 and v.p_value < 0.01  # what the minimum alone would have called a regression
    assert v.robust_low < 1.10 and v.verdict is Verdict.NO_CHANGE and "rests on one job" in v.reason
    assert v.robust_low <= v.ratio <= v.robust_high
    slow = speed_verdict(base, [steps(rng, ms=25.0) for _ in range(3)], n_resamples=RESAMPLES)
    assert slow.verdict is Verdict.REGRESSION and slow.robust_low > 1.10  # a real slowdown survives it


def test_leave_one_job_out():
    jobs = lambda *v: np.sort(np.asarray(v, dtype=float))  # noqa: E731
    assert stats.leave_one_job_out(jobs(10, 12, 13), jobs(15, 16)) == (pytest.approx(15 / 12), pytest.approx(16 / 10))
    assert stats.leave_one_job_out(jobs(10), jobs(15)) == (1.5, 1.5)  # one job a side: nothing to leave out
    blocked = [[np.array([3.0, 3.0]), np.array([1.0, 2.0])], [np.array([2.0, 2.5])], []]
    assert stats.job_fastest_blocks(blocked).tolist() == [1.5, 2.25]


def test_one_sample_t_p():
    assert stats.one_sample_t_p([0.01, 0.02, -0.005, 0.015]) == pytest.approx(
        sps.ttest_1samp([0.01, 0.02, -0.005, 0.015], 0).pvalue
    )
    assert stats.one_sample_t_p([0.0, 0.0]) == 1.0 and stats.one_sample_t_p([-0.02, -0.02]) == 0.0
    assert math.isnan(stats.one_sample_t_p([0.1]))


def test_normalisation_cancels_a_uniformly_slower_machine():
    rng = np.random.default_rng(4)
    base, cand = steps(rng), steps(rng, ms=30.0)  # the whole machine is 1.5x slower
    raw = speed_verdict(base, cand, seed=0)
    normalised = speed_verdict(
        base, cand, seed=0, baseline_scale=[0.10, 0.10, 0.11], candidate_scale=[0.15, 0.15, 0.16]
    )
    assert raw.verdict is Verdict.REGRESSION
    assert normalised.verdict is Verdict.NO_CHANGE and normalised.normalised
    assert normalised.ratio == pytest.approx(1.0, abs=0.05)


def test_edge_cases_are_inconclusive_not_errors():
    rng = np.random.default_rng(5)
    assert speed_verdict([], steps(rng)).verdict is Verdict.INCONCLUSIVE
    few = speed_verdict([0.02, 0.021, 0.02], [0.03, 0.031, 0.03])  # 3 vs 3 can never reach p < 0.01
    assert few.verdict is Verdict.INCONCLUSIVE and "cannot reach" in few.reason
    dirty = np.concatenate([steps(rng), [np.nan, -1.0, 0.0, np.inf]])
    v = speed_verdict(dirty, steps(rng))
    assert v.n_baseline == 120 and v.verdict is Verdict.NO_CHANGE
    assert (
        speed_verdict(steps(rng), steps(rng), baseline_scale=[], candidate_scale=[0.1]).verdict is Verdict.INCONCLUSIVE
    )


def test_signed_rank_p_is_scipys_exact_test_and_handles_ties_and_zeros():
    d = [0.3, -1.2, 2.5, 0.7, -0.1, 1.9, 0.4]  # distinct magnitudes, no zero: scipy's exact test applies
    assert stats.wilcoxon_signed_rank_p(d) == pytest.approx(sps.wilcoxon(d, method="exact").pvalue)
    assert stats.wilcoxon_signed_rank_p([-0.02, -0.02, -0.02]) == pytest.approx(2 / 8)  # tied ranks, one sign
    assert stats.wilcoxon_signed_rank_p([-0.02, 0.0, -0.01]) == pytest.approx(2 / 4)  # the zero is dropped
    assert stats.wilcoxon_signed_rank_p([0.0, 0.0]) == 1.0 and math.isnan(stats.wilcoxon_signed_rank_p([]))
    big = np.linspace(0.1, 2.0, 20)
    assert stats.wilcoxon_signed_rank_p(big) == pytest.approx(sps.wilcoxon(big, method="approx").pvalue)
    assert [stats.min_signed_rank_p(n) for n in (0, 1, 7, 8)] == [1.0, 1.0, 2 / 128, 2 / 256]


def test_job_steps_give_the_comparison_of_their_series():
    rng = np.random.default_rng(3)
    base, cand = [steps(rng) for _ in range(2)], [steps(rng, ms=23.0) for _ in range(2)]
    cached = stats.compare_speed([stats.job_steps(s) for s in base], [stats.job_steps(s) for s in cand], seed=4)
    assert cached == stats.compare_speed(base, cand, seed=4) and cached.ratio > 1.1
