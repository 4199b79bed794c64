"""Accuracy over seeds: each backend against the reference, paired seed by seed, with a power hint.

A pure function of the jobs frame. The statistics are ``harness.seed_stats``'s; the verdict rule is the
head-to-head's (``head_to_head.accuracy_verdict``), so the two tables never disagree.
"""

from __future__ import annotations

import math

import pandas as pd

from harness import seed_stats

from . import head_to_head
from .tables import run_order, sort_rows

#: Accuracies compared seed by seed (a fraction: 0.01 is one point).
PAIRED_METRICS = ("test_acc", "best_val_acc")
#: The power hint: the smallest difference detectable at this level and power, and the seeds that would
#: detect this difference (one accuracy point).
POWER = 0.8
TARGET_DIFF = 0.01
PAIRED_COLUMNS = [
    "run",
    "cell",
    "mode",
    "reference",
    "backend",
    "metric",
    "pairs",
    "reference_mean",
    "backend_mean",
    "diff",
    "ci_low",
    "ci_high",
    "t_p",
    "wilcoxon_p",
    "verdict",
    "detectable",
    "seeds_for_1pt",
]


def paired_table(jobs: pd.DataFrame, reference: str) -> pd.DataFrame:
    """One row per run x cell x mode x backend (other than the reference) x metric; ``pairs`` is 0 where the
    seeds do not pair (then only the head-to-head's Welch test applies)."""
    rows = []
    for (run, cell, mode), group in jobs.groupby(["run", "cell", "mode"], sort=False):
        base = group[group["backend"] == reference]
        if base.empty:
            continue
        for backend in head_to_head.reference_first(group["backend"].unique(), reference)[1:]:
            other = group[group["backend"] == backend]
            for metric in PAIRED_METRICS:
                row = {"run": run, "cell": cell, "mode": mode, "reference": reference, "backend": backend}
                rows.append({**row, "metric": metric, **_paired(base, other, metric, (reference, backend))})
    frame = pd.DataFrame(rows, columns=PAIRED_COLUMNS)
    return sort_rows(frame, run_order(jobs), metrics=PAIRED_METRICS).reset_index(drop=True)


def _paired(base: pd.DataFrame, other: pd.DataFrame, metric: str, names: tuple[str, str]) -> dict:
    pairs = head_to_head.seed_pairs(base, other, metric)
    if pairs is None:
        nan = math.nan
        one_seed = min(len(base), len(other)) < 2
        return {
            "pairs": 0,
            **dict.fromkeys(("reference_mean", "backend_mean", "diff", "ci_low", "ci_high", "t_p", "wilcoxon_p"), nan),
            "verdict": "one seed: accuracy difference can't be tested"
            if one_seed
            else "seeds do not pair (not the same seeds, weights or batches): see the head-to-head's Welch test",
            "detectable": nan,
            "seeds_for_1pt": None,
        }
    result = seed_stats.paired(*pairs)
    hint = seed_stats.power_hint(result.sd, result.n, TARGET_DIFF, head_to_head.SEED_P, POWER)
    verdict = (
        head_to_head.accuracy_verdict(result.diff, result.t_p, names)
        if result.n >= 2
        else "one seed with a value on both sides: can't be tested"
    )
    return {
        "pairs": result.n,
        "reference_mean": result.mean_a,
        "backend_mean": result.mean_b,
        "diff": result.diff,
        "ci_low": result.low,
        "ci_high": result.high,
        "t_p": result.t_p,
        "wilcoxon_p": result.wilcoxon_p,
        "verdict": verdict,
        "detectable": hint.detectable,
        "seeds_for_1pt": hint.seeds_for_target,
    }
