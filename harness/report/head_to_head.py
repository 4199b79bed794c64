"""Head-to-head comparisons with a verdict only where a difference is larger than the noise.

Two comparisons share one implementation (``compare_sides``): backends within a run against a reference
backend (``bench report --reference``, keras by default) per cell, and runs against the first run
(before/after an upgrade, two machines) per backend x cell.

The rules (stated in the report next to the table); the tests are ``harness.stats``'s, the ones
``bench check`` uses, so a report and a check never disagree about what counts as a difference:
- Step time: ratio of the medians of the timed steps (warm-up and partial batches out), pooled over seeds.
  A verdict needs ``harness.check.speed.speed_verdict`` to call it (the sides' fastest blocks apart by more than
  ``SPEED_MIN_CHANGE``, Mann-Whitney U on block medians at p < ``SPEED_P``: consecutive steps are
  correlated, so raw steps would overstate the evidence; and a bootstrap interval of the ratio that
  excludes 1), AND, with several seeds on both sides,
  every seed's median on one side beyond every seed's median on the other (seed-to-seed noise, e.g. a job
  that ran while the machine was busy).
- Time-to-accuracy: ratio of the means over seeds; Welch's t-test on per-seed values, p < ``SEED_P`` and a
  ratio outside 1 +/- ``SPEED_MIN_CHANGE``; needs two or more seeds per side that all reached the target.
- Both speed comparisons use only jobs that had their machine to themselves, and, between backends, only
  jobs on the kind of host both sides ran on most (``hosts.speed_sides``).
- Accuracy (test, best validation): difference of the means over seeds, p < ``SEED_P`` and at least
  ``ACC_MIN_DIFF``. The test is a paired t-test over seeds when the seeds pair (``seed_pairs``: both sides
  ran the same seeds, each seed from the same weights and batches on both), else Welch's t-test. With one
  seed per side there is no seed-to-seed noise estimate, so accuracy differences are shown but cannot be
  tested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from harness import seed_stats, stats
from harness.check.speed import Verdict, speed_verdict

from . import hosts
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
    "n_baseline",
    "n_compared",
]
#: What each comparison covers, in the order the table shows them.
COMPARED_METRICS = ("step_ms_median", "time_to_acc_s", "test_acc", "best_val_acc")
MWU = "Mann-Whitney U (blocks)"
WELCH = "Welch t"
PAIRED_T = "paired t (seeds)"


@dataclass(frozen=True)
class Outcome:
    baseline_value: float
    compared_value: float
    change: float  # compared / baseline (ratio) or compared - baseline (difference)
    change_kind: str  # "ratio" | "difference"
    p_value: float
    test: str  # "" when no test could be run
    verdict: str
    n_baseline: int = 0  # jobs (seeds) each side contributed
    n_compared: int = 0


# -- one comparison -----------------------------------------------------------------------------------


def speed_outcome(base_jobs: Sequence[np.ndarray], other_jobs: Sequence[np.ndarray], names: tuple[str, str]) -> Outcome:
    """Step times of each side, one series per job (seed) in step order."""
    verdict = speed_verdict(list(base_jobs), list(other_jobs), max_slowdown=SPEED_MIN_CHANGE, alpha=SPEED_P)
    base, other = verdict.median_baseline, verdict.median_candidate
    ratio = other / base if base > 0 else math.nan
    if verdict.verdict is Verdict.INCONCLUSIVE:
        return Outcome(base, other, ratio, "ratio", verdict.p_value, "", f"not tested: {verdict.reason}")
    clear = verdict.verdict in (Verdict.REGRESSION, Verdict.IMPROVEMENT) and _seeds_separate(
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


def accuracy_outcome(base: pd.DataFrame, other: pd.DataFrame, column: str, names: tuple[str, str]) -> Outcome:
    """``column`` (an accuracy) of each side's jobs: paired over seeds where the seeds pair, else Welch."""
    pairs = seed_pairs(base, other, column)
    if pairs is not None:
        result = seed_stats.paired(*pairs)
        b_mean, o_mean, p, test = result.mean_a, result.mean_b, result.t_p, PAIRED_T
        n = (result.n, result.n)
    else:
        b, o = _present(_values(base, column)), _present(_values(other, column))
        b_mean = float(np.mean(b)) if b else math.nan
        o_mean = float(np.mean(o)) if o else math.nan
        p, test = (stats.welch(b, o).p_value, WELCH) if min(len(b), len(o)) >= 2 else (math.nan, "")
        n = (len(b), len(o))
    diff = o_mean - b_mean
    if min(n) < 2:
        return Outcome(
            b_mean, o_mean, diff, "difference", math.nan, "", "one seed: accuracy difference can't be tested", *n
        )
    return Outcome(b_mean, o_mean, diff, "difference", p, test, accuracy_verdict(diff, p, names), *n)


def accuracy_verdict(diff: float, p: float, names: tuple[str, str]) -> str:
    if p < SEED_P and abs(diff) >= ACC_MIN_DIFF:
        return f"{names[1]} {abs(diff) * 100:.1f} pts {'higher' if diff > 0 else 'lower'} than {names[0]}"
    return NO_CLEAR


def seed_pairs(base: pd.DataFrame, other: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Each seed's ``column`` on both sides, aligned by seed, when the seeds pair: both sides ran the same two
    or more seeds, one job each, and each seed's two jobs started from the same initial weights and saw
    the same batches (matched mode). None otherwise (native mode: each backend draws its own weights)."""
    columns = ["seed", column, "weights_fingerprint", "batch_order_hash"]
    b, o = base[columns].set_index("seed"), other[columns].set_index("seed")
    if len(b) < 2 or not (b.index.is_unique and o.index.is_unique) or set(b.index) != set(o.index):
        return None
    seeds = sorted(b.index)
    b, o = b.loc[seeds], o.loc[seeds]
    same_start = (
        b["weights_fingerprint"].notna().all()
        and (b["weights_fingerprint"] == o["weights_fingerprint"]).all()
        and (b["batch_order_hash"] == o["batch_order_hash"]).all()
    )
    if not same_start:
        return None
    return b[column].astype(float).to_numpy(), o[column].astype(float).to_numpy()


# -- tables ---------------------------------------------------------------------------------------------


def head_to_head(jobs: pd.DataFrame, steps: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Every backend against ``reference`` within each run, cell and mode."""
    return compare_sides(
        jobs, steps, ["run", "cell", "mode"], "backend", lambda sides: reference_first(sides, reference), same_kind=True
    )


def across_runs(jobs: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Each run against the first run, per backend, cell and mode (empty with a single run). Different
    machines are the point of some such comparisons: no same-kind-of-host rule here."""
    first = run_order(jobs)
    return compare_sides(
        jobs,
        steps,
        ["backend", "cell", "mode"],
        "run",
        lambda sides: [s for s in first if s in set(sides)],
        same_kind=False,
    )


def reference_first(backends: Sequence[str], reference: str) -> list[str]:
    """``reference`` first (when present), the others in the report's order."""
    return sorted(backend_order(backends), key=lambda b: b != reference)


def compare_sides(
    jobs: pd.DataFrame, steps: pd.DataFrame, keys: list[str], side: str, order, same_kind: bool
) -> pd.DataFrame:
    """For each group of ``keys``, every value of ``side`` against the first in ``order(values)``."""
    columns = [*keys, *COMPARE_COLUMNS]
    if jobs.empty:
        return pd.DataFrame(columns=columns)
    timed = timed_steps_by_job(steps)
    rows = []
    for key, group in jobs.groupby(keys, sort=False):
        sides = order(group[side].unique())
        for other in sides[1:]:
            base_jobs, other_jobs = group[group[side] == sides[0]], group[group[side] == other]
            names = (str(sides[0]), str(other))
            for metric, outcome in _outcomes(base_jobs, other_jobs, timed, names, same_kind).items():
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
    base: pd.DataFrame,
    other: pd.DataFrame,
    timed: Mapping[tuple[str, str], np.ndarray],
    names: tuple[str, str],
    same_kind: bool,
) -> dict[str, Outcome]:
    def series(jobs: pd.DataFrame) -> list[np.ndarray]:
        return [timed.get((r, j), np.empty(0)) for r, j in zip(jobs["run"], jobs["job_id"])]

    target = float(base["target_acc"].iloc[0])
    fast_base, fast_other, why = hosts.speed_sides(base, other, names, same_kind)
    if why:
        speed = time_to_acc = _not_tested(f"not tested: {why}")
    else:
        speed = speed_outcome(series(fast_base), series(fast_other), names)
        time_to_acc = time_to_acc_outcome(
            _values(fast_base, "time_to_acc_s"), _values(fast_other, "time_to_acc_s"), names, target
        )
        counts = {"n_baseline": len(fast_base), "n_compared": len(fast_other)}
        speed, time_to_acc = (replace(o, **counts) for o in (speed, time_to_acc))
    return {
        "step_ms_median": speed,
        "time_to_acc_s": time_to_acc,
        "test_acc": accuracy_outcome(base, other, "test_acc", names),
        "best_val_acc": accuracy_outcome(base, other, "best_val_acc", names),
    }


def _not_tested(verdict: str) -> Outcome:
    return Outcome(math.nan, math.nan, math.nan, "ratio", math.nan, "", verdict)


def timed_steps_by_job(steps: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
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
