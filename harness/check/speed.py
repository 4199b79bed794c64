"""The speed policy of ``bench check`` (and of the report's head-to-head): a ``stats.SpeedComparison``
plus a threshold -> regression, improvement, no significant change or inconclusive, with its reason.

A regression needs the ratio of fastest blocks beyond 1 + max_slowdown with any one job of either side
left out, and significance (Mann-Whitney p < alpha and a bootstrap interval that excludes 1); an
improvement, the mirror threshold 1 / (1 + max_slowdown). Why: docs/methodology.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from harness import stats

from .verdict import Verdict

__all__ = ["SpeedVerdict", "Verdict", "decide", "speed_verdict"]


@dataclass(frozen=True, kw_only=True)
class SpeedVerdict(stats.SpeedComparison):
    verdict: Verdict
    reason: str  # one line: why this verdict


def decide(c: stats.SpeedComparison, max_slowdown: float, alpha: float) -> tuple[Verdict, str]:
    """The verdict on a comparison at one threshold: cheap, so one comparison can be judged at many."""
    if c.problem:
        return Verdict.INCONCLUSIVE, c.problem
    if c.min_p_value >= alpha:
        return Verdict.INCONCLUSIVE, (
            f"{c.blocks_baseline} vs {c.blocks_candidate} blocks cannot reach p < {alpha:g} "
            f"(smallest possible p {c.min_p_value:.2g}): record more steps"
        )
    ratio, p = c.ratio, c.p_value
    up, down = 1.0 + max_slowdown, 1.0 / (1.0 + max_slowdown)
    significant = p < alpha and (c.low > 1.0 or c.high < 1.0)
    pct = f"{ratio - 1:+.1%}"
    several = c.jobs_baseline > 1 or c.jobs_candidate > 1
    if significant and c.robust_low > up and c.low > 1.0:
        kept = f" (at least {c.robust_low - 1:+.1%} with any one job left out)" if several else ""
        return Verdict.REGRESSION, f"{pct} slower{kept}, beyond {max_slowdown:.0%}, p={p:.2g} < {alpha:g}"
    if significant and c.robust_high < down and c.high < 1.0:
        kept = f" (at least {1 - c.robust_high:.1%} with any one job left out)" if several else ""
        return Verdict.IMPROVEMENT, f"{1 - ratio:.1%} faster{kept}, beyond {1 - down:.1%}, p={p:.2g} < {alpha:g}"
    if significant and not down <= ratio <= up:  # beyond the threshold, but not once one job is left out
        kept = c.robust_low if ratio > up else c.robust_high
        return Verdict.NO_CHANGE, f"{pct} rests on one job: {kept - 1:+.1%} with it left out, within the threshold"
    if down <= ratio <= up:
        return Verdict.NO_CHANGE, f"{pct} is within the threshold"
    return Verdict.NO_CHANGE, f"{pct} is not significant (p={p:.2g})"


def speed_verdict(
    baseline: stats.SeriesLike | Sequence[stats.JobSteps],
    candidate: stats.SeriesLike | Sequence[stats.JobSteps],
    max_slowdown: float = 0.10,
    alpha: float = 0.01,
    *,
    baseline_scale: Sequence[float] | None = None,
    candidate_scale: Sequence[float] | None = None,
    n_resamples: int = stats.N_RESAMPLES,
    seed: int = 0,
) -> SpeedVerdict:
    """Compare step times (``stats.compare_speed``, same arguments) and decide at ``max_slowdown``."""
    c = stats.compare_speed(
        baseline,
        candidate,
        alpha,
        baseline_scale=baseline_scale,
        candidate_scale=candidate_scale,
        n_resamples=n_resamples,
        seed=seed,
    )
    verdict, reason = decide(c, max_slowdown, alpha)
    return SpeedVerdict(**{f.name: getattr(c, f.name) for f in fields(c)}, verdict=verdict, reason=reason)
