"""Head-to-head comparisons with a verdict only where a difference is larger than the noise.

Two comparisons share one implementation (``compare_sides``): backends within a run (torch / keras per cell), and
runs against the first run (before/after an upgrade, two machines) per backend x cell.

The rules (stated in the report next to the table); the tests are ``harness.stats``'s, the ones
``bench check`` uses, so a report and a check never disagree about what counts as a difference:
- Step time: ratio of the medians of the timed steps (warm-up and partial batches out), pooled over seeds.
  A verdict needs ``stats.speed_verdict`` to call it (the sides' fastest blocks apart by more than
  ``SPEED_MIN_CHANGE``, Mann-Whitney U on block medians at p < ``SPEED_P``: consecutive steps are
  correlated, so raw steps would overstate the evidence; and a bootstrap interval of the ratio that
  excludes 1), AND, with several seeds on both sides,
  every seed's median on one side beyond every seed's median on the other (seed-to-seed noise, e.g. a job
  that ran while the machine was busy).
- Time-to-accuracy: ratio of the means over seeds; Welch's t-test on per-seed values, p < ``SEED_P`` and a
  ratio outside 1 +/- ``SPEED_MIN_CHANGE``; needs two or more seeds per side that all reached the target.
- Accuracy (test, best validation): difference of the means over seeds; Welch's t-test across seeds,
  p < ``SEED_P`` and at least ``ACC_MIN_DIFF``. With one seed per side there is no seed-to-seed noise
  estimate, so accuracy differences are shown but cannot be tested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness import stats

from .tables import backend_order, run_order, sort_rows

SPEED_P = 0.01
SEED_P = 0.05
SPEED_MIN_CHANGE = 0.05  # 5%: the tolerance issue 4 uses for "the harness adds no cost"
ACC_MIN_DIFF = 0.005  # half a point of accuracy
NO_CLEAR = "no clear difference"

COMPARE_COLUMNS = [
    "baseline",
    "compared",
    "metric",
    "baseline_value",
    "compared_value",
    "change",
    "change_kind",
    "p_value",
    "test",
    "verdict",
]
#: What each comparison covers, in the order the table shows them.
COMPARED_METRICS = ("step_ms_median", "time_to_acc_s", "test_acc", "best_val_acc")
MWU = "Mann-Whitney U (blocks)"
WELCH = "Welch t"


@dataclass(frozen=True)
class Outcome:
    baseline_value: float
    compared_value: float
    change: float  # compared / baseline (ratio) or compared - baseline (difference)
    change_kind: str  # "ratio" | "difference"
    p_value: float
    test: str  # "" when no test could be run
    verdict: str


# -- one comparison -----------------------------------------------------------------------------------


def speed_outcome(base_jobs: Sequence[np.ndarray], other_jobs: Sequence[np.ndarray], names: tuple[str, str]) -> Outcome:
    """Step times of each side, one series per job (seed) in step order."""
    verdict = stats.speed_verdict(list(base_jobs), list(other_jobs), max_slowdown=SPEED_MIN_CHANGE, alpha=SPEED_P)
    base, other = verdict.median_baseline, verdict.median_candidate
    ratio = other / base if base > 0 else math.nan
    if verdict.change is stats.Change.INCONCLUSIVE:
        return Outcome(base, other, ratio, "ratio", verdict.p_value, "", f"not tested: {verdict.reason}")
    clear = verdict.change in (stats.Change.REGRESSION, stats.Change.IMPROVEMENT) and _seeds_separate(
        [float(np.median(a)) for a in base_jobs if len(a)], [float(np.median(a)) for a in other_jobs if len(a)]
    )
    return Outcome(
        base, other, ratio, "ratio", verdict.p_value, MWU, _ratio_verdict(ratio, names) if clear else NO_CLEAR
    )


def time_to_acc_outcome(
    base: Sequence[float | None], other: Sequence[float | None], names: tuple[str, str], target: float
) -> Outcome:
    b_done, o_done = _present(base), _present(other)
    b_all, o_all = len(b_done) == len(base), len(o_done) == len(other)
    b_mean = float(np.mean(b_done)) if b_all and b_done else math.nan
    o_mean = float(np.mean(o_done)) if o_all and o_done else math.nan
    ratio = o_mean / b_mean if b_mean > 0 else math.nan
    if not (b_all and o_all):
        reached = [n for n, done in zip(names, (b_all, o_all)) if done]
        verdict = f"only {reached[0]} reached {target:g}" if reached else f"not every seed reached {target:g}"
        return Outcome(b_mean, o_mean, ratio, "ratio", math.nan, "", verdict)
    if min(len(b_done), len(o_done)) < 2:
        return Outcome(b_mean, o_mean, ratio, "ratio", math.nan, "", "one seed: not tested")
    p = stats.welch(b_done, o_done).p_value
    clear = p < SEED_P and abs(ratio - 1) > SPEED_MIN_CHANGE
    return Outcome(b_mean, o_mean, ratio, "ratio", p, WELCH, _ratio_verdict(ratio, names) if clear else NO_CLEAR)


def accuracy_outcome(base: Sequence[float | None], other: Sequence[float | None], names: tuple[str, str]) -> Outcome:
    b, o = _present(base), _present(other)
    b_mean = float(np.mean(b)) if b else math.nan
    o_mean = float(np.mean(o)) if o else math.nan
    diff = o_mean - b_mean
    if min(len(b), len(o)) < 2:
        return Outcome(
            b_mean, o_mean, diff, "difference", math.nan, "", "one seed: accuracy difference can't be tested"
        )
    p = stats.welch(b, o).p_value
    if p < SEED_P and abs(diff) >= ACC_MIN_DIFF:
        verdict = f"{names[1]} {abs(diff) * 100:.1f} pts {'higher' if diff > 0 else 'lower'} than {names[0]}"
    else:
        verdict = NO_CLEAR
    return Outcome(b_mean, o_mean, diff, "difference", p, WELCH, verdict)


# -- tables ---------------------------------------------------------------------------------------------


def head_to_head(jobs: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Backends against the reference backend (keras) within each run, cell and mode."""
    return compare_sides(jobs, steps, ["run", "cell", "mode"], "backend", backend_order)


def across_runs(jobs: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Each run against the first run, per backend, cell and mode (empty with a single run)."""
    first = run_order(jobs)
    return compare_sides(
        jobs, steps, ["backend", "cell", "mode"], "run", lambda sides: [s for s in first if s in set(sides)]
    )


def compare_sides(jobs: pd.DataFrame, steps: pd.DataFrame, keys: list[str], side: str, order) -> pd.DataFrame:
    """For each group of ``keys``, every value of ``side`` against the first in ``order(values)``."""
    columns = [*keys, *COMPARE_COLUMNS]
    if jobs.empty:
        return pd.DataFrame(columns=columns)
    timed = _timed_steps_by_job(steps)
    rows = []
    for key, group in jobs.groupby(keys, sort=False):
        sides = order(group[side].unique())
        for other in sides[1:]:
            base_jobs, other_jobs = group[group[side] == sides[0]], group[group[side] == other]
            names = (str(sides[0]), str(other))
            for metric, outcome in _outcomes(base_jobs, other_jobs, timed, names).items():
                rows.append(
                    {
                        **dict(zip(keys, key)),
                        "baseline": names[0],
                        "compared": names[1],
                        "metric": metric,
                        **outcome.__dict__,
                    }
                )
    frame = pd.DataFrame(rows, columns=columns)
    # Rows were made compared-side-major, metric-minor in COMPARED_METRICS order: only the keys are sorted.
    return sort_rows(frame, run_order(jobs), metrics=None).reset_index(drop=True) if not frame.empty else frame


def _outcomes(
    base: pd.DataFrame, other: pd.DataFrame, timed: Mapping[tuple[str, str], np.ndarray], names: tuple[str, str]
) -> dict[str, Outcome]:
    def series(jobs: pd.DataFrame) -> list[np.ndarray]:
        return [timed.get((r, j), np.empty(0)) for r, j in zip(jobs["run"], jobs["job_id"])]

    target = float(base["target_acc"].iloc[0])
    return {
        "step_ms_median": speed_outcome(series(base), series(other), names),
        "time_to_acc_s": time_to_acc_outcome(
            _values(base, "time_to_acc_s"), _values(other, "time_to_acc_s"), names, target
        ),
        "test_acc": accuracy_outcome(_values(base, "test_acc"), _values(other, "test_acc"), names),
        "best_val_acc": accuracy_outcome(_values(base, "best_val_acc"), _values(other, "best_val_acc"), names),
    }


def _timed_steps_by_job(steps: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    if steps.empty:
        return {}
    timed = steps.loc[steps["timed"], ["run", "job_id", "time_ms"]]
    return {key: group.to_numpy() for key, group in timed.groupby(["run", "job_id"], sort=False)["time_ms"]}


def _values(jobs: pd.DataFrame, column: str) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in jobs[column]]


def _present(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def _seeds_separate(a: Sequence[float], b: Sequence[float]) -> bool:
    """True with fewer than two seeds on a side (nothing to check), else: no overlap of per-seed medians."""
    if min(len(a), len(b)) < 2:
        return True
    return min(a) > max(b) or min(b) > max(a)


def _ratio_verdict(ratio: float, names: tuple[str, str]) -> str:
    if ratio >= 1:
        return f"{names[1]} {ratio:.2f}× slower than {names[0]}"
    return f"{names[1]} {1 / ratio:.2f}× faster than {names[0]}"
