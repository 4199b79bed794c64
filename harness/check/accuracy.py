"""The accuracy policy of ``bench check``: per backend x cell and metric, one value per seed on each side.

- Same seeds on both sides (each seed a deterministic rerun: same initial weights, same batches), paired
  per seed: with one seed the difference is exact and the threshold alone decides; with two or more, a
  regression needs the mean paired change below -max_acc_drop AND significance: a Wilcoxon signed-rank
  p < alpha where the seeds can reach it, else (fewer than 8 seeds at alpha 0.01) every seed moving the
  same way, the strongest evidence that many seeds can give.
- Different seeds, two or more a side: Welch's t-test on the means, a drop beyond max_acc_drop and p < alpha.
- Different seeds, fewer: the threshold on the means.
Why: docs/methodology.md, "Accuracy".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import numpy as np

from harness import stats

from .verdict import Row, Thresholds, Verdict, finite_or_none, seed_label

#: Accuracies are multiples of 1/n_test, so a difference of exactly max_acc_drop can come out as
#: max_acc_drop + 1e-17 in floating point; this keeps 0.75 - 0.74 from counting as a drop beyond 0.01.
_EPS = 1e-9


def accuracy_row(
    backend: str, cell: str, metric: str, base: Mapping[int, float], cand: Mapping[int, float], th: Thresholds
) -> Row:
    """``base``, ``cand``: seed -> value (several runs of one seed averaged already)."""
    row = partial(Row, backend, cell, metric, seed_label(base, cand))
    if not base or not cand:
        return row(Verdict.INCONCLUSIVE, "no value recorded on one side")
    if set(base) == set(cand):
        return _paired(row, base, cand, th)
    if len(base) >= 2 and len(cand) >= 2:
        return _welch(row, base, cand, th)
    mean_b, mean_c = float(np.mean(list(base.values()))), float(np.mean(list(cand.values())))
    diff = mean_c - mean_b
    return row(
        _verdict(diff, th.max_acc_drop, True),
        _detail(diff, th.max_acc_drop, "mean "),
        "different seeds, too few for a test: threshold on the means",
        mean_b,
        mean_c,
        diff,
    )


def min_seeds_for_test(alpha: float) -> int:
    """The fewest nonzero paired changes whose signed-rank test can reach p < alpha (8 at 0.01)."""
    n = 1
    while stats.min_signed_rank_p(n) >= alpha:
        n += 1
    return n


#: A Row with its backend, cell, metric and seeds filled in.
RowOf = Callable[..., Row]


def _paired(row: RowOf, base: Mapping[int, float], cand: Mapping[int, float], th: Thresholds) -> Row:
    diffs = np.array([cand[s] - base[s] for s in sorted(base)])
    n, drop = int(diffs.size), th.max_acc_drop
    ci = stats.mean_ci(diffs, confidence=1 - th.alpha)
    effect = ci.mean
    values = (float(np.mean(list(base.values()))), float(np.mean(list(cand.values()))), effect)
    if n == 1:
        # A deterministic rerun: the difference is exact, there is no noise to test against.
        verdict = _verdict(effect, drop, True)
        method = "same seed: a deterministic rerun, exact difference; threshold"
        return row(verdict, _detail(effect, drop, ""), method, *values)
    p = stats.wilcoxon_signed_rank_p(diffs)
    needed = min_seeds_for_test(th.alpha)
    moved = int((diffs < 0).sum() if effect < 0 else (diffs > 0).sum())
    detail = _detail(effect, drop, "mean ")
    if n >= needed:
        significant = p < th.alpha
        method = f"same seeds: {n} paired changes, Wilcoxon signed-rank"
        evidence = f"p={p:.2g} < {th.alpha:g}" if significant else f"not significant (p={p:.2g})"
    else:
        significant = moved == n
        method = f"same seeds: {n} paired changes; under {needed} seeds every seed must move the same way"
        evidence = f"on all {n} seeds" if significant else f"but on {moved} of {n} seeds only"
    beyond = abs(effect) > drop + _EPS
    detail += f", {evidence}" if beyond else f" (Wilcoxon p={p:.2g})"
    row_values = (*values, finite_or_none(ci.low), finite_or_none(ci.high), finite_or_none(p))
    return row(_verdict(effect, drop, significant), detail, method, *row_values)


def _welch(row: RowOf, base: Mapping[int, float], cand: Mapping[int, float], th: Thresholds) -> Row:
    w = stats.welch(list(base.values()), list(cand.values()), confidence=1 - th.alpha)
    significant = w.p_value < th.alpha
    verdict = _verdict(w.diff, th.max_acc_drop, significant)
    detail = _detail(w.diff, th.max_acc_drop, "mean ")
    if verdict is Verdict.NO_CHANGE and abs(w.diff) > th.max_acc_drop + _EPS:
        detail += f", not significant (p={w.p_value:.2g})"
    elif verdict is not Verdict.NO_CHANGE:
        detail += f", p={w.p_value:.2g} < {th.alpha:g}"
    return row(
        verdict,
        detail,
        f"Welch t-test, {w.n_a} vs {w.n_b} seeds",
        w.mean_a,
        w.mean_b,
        w.diff,
        finite_or_none(w.low),
        finite_or_none(w.high),
        finite_or_none(w.p_value),
    )


def _verdict(diff: float, max_drop: float, significant: bool) -> Verdict:
    if significant and diff < -(max_drop + _EPS):
        return Verdict.REGRESSION
    if significant and diff > max_drop + _EPS:
        return Verdict.IMPROVEMENT
    return Verdict.NO_CHANGE


def _detail(diff: float, max_drop: float, what: str) -> str:
    if diff < -(max_drop + _EPS):
        return f"{what}dropped {-diff:.4f}, more than {max_drop:g}"
    if diff > max_drop + _EPS:
        return f"{what}rose {diff:.4f}, more than {max_drop:g}"
    return f"{what}changed {diff:+.4f}, within {max_drop:g}"
