"""Gate calibration (``bench check calibrate``): how often ``bench check``'s speed verdict fails identical code
on this machine (false alarms), how often it catches a known slowdown (power), at every threshold, and the
thresholds that meet a target for both. Pure: the runs arrive as step series (``rounds`` reads them).

Two set-ups are judged, the two that CI uses:
- **interleaved rounds** (the workflow example): k runs a side, the sides alternating in one CI job. Each
  window of k consecutive calibration rounds holds 2k identical-code runs and k slowed ones; every split of
  the 2k into two sides of k (at most ``MAX_SPLITS``, drawn at random beyond that) is checked both ways,
  and each side against the window's slowed runs;
- **a committed baseline** (``.ci/run``): ``COMMITTED_BASELINE_RUNS`` identical-code runs pooled, spread
  over the calibration, against every other identical-code run and every slowed run, one at a time.
Splits reuse runs, so they are not independent trials: more comparisons, not more data. Method:
docs/methodology.md, "Calibrating the gate".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness import stats

from .speed import decide
from .verdict import Verdict

#: The --max-slowdown values judged (a grid: the verdict at each is cheap once a comparison is made).
THRESHOLDS = (0.02, 0.03, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
#: Splits of one window checked at most (462 at six rounds a side, 6,435 at eight).
MAX_SPLITS = 100
#: Runs pooled into the committed baseline, as results/baselines/ci-smoke.json was made.
COMMITTED_BASELINE_RUNS = 3
#: A committed baseline's threshold stays this factor above the largest identical-code ratio seen (of the
#: fastest blocks, either way, as the committed baseline's threshold was first chosen): the
#: largest of n runs is exceeded by the next run with probability 1 / (n + 1), so the margin guards the
#: tail that a calibration of a few dozen runs has not seen.
COMMITTED_MARGIN = 1.25
#: A run whose median step is beyond this factor of the group's lowest ran mostly at a slow level.
SLOW_LEVEL = 1.3
#: Accuracy thresholds are a multiple of this (a point of accuracy is 0.01).
_ACC_STEP = 0.005

Group = tuple[str, str]  # (backend, cell)
RunSteps = Mapping[Group, Sequence[stats.JobSteps]]  # one run: each group's jobs (one per seed)


@dataclass(frozen=True)
class CalibrationRuns:
    """The runs of a calibration, in the order they ran: round r is ``same[2r]``, ``same[2r + 1]`` (identical
    code) and ``slowed[r]`` (every step ``slowdown`` slower, injected)."""

    same: tuple[RunSteps, ...]
    slowed: tuple[RunSteps, ...]
    slowdown: float
    clean: tuple[bool, ...] = ()  # per same run: no busy machine, no calibration move (baseline material)
    accuracy_spread: float = 0.0  # largest accuracy difference between identical-code runs of one job

    @property
    def rounds(self) -> int:
        return len(self.slowed)

    @property
    def groups(self) -> list[Group]:
        every = [set(run) for run in (*self.same, *self.slowed)]
        return sorted(set.intersection(*every)) if every else []


@dataclass(frozen=True)
class Rates:
    """How the gate did in one set-up at every threshold of ``THRESHOLDS``."""

    setup: str  # "interleaved" | "committed baseline"
    rounds: int  # runs on the candidate's side
    windows: int  # independent stretches of the calibration the comparisons come from
    aa_rows: int  # identical-code verdicts (per backend x cell)
    slowed_rows: int
    false_alarms: tuple[int, ...]  # per threshold: identical-code verdicts that would fail the build
    caught: tuple[int, ...]  # per threshold: slowed verdicts that are a regression
    aa_ratio_max: float  # largest identical-code ratio of fastest blocks, either way (x or 1/x)

    def false_alarm_rate(self, i: int) -> float:
        return self.false_alarms[i] / self.aa_rows if self.aa_rows else math.nan

    def power(self, i: int) -> float:
        return self.caught[i] / self.slowed_rows if self.slowed_rows else math.nan

    def quiet_from(self, target: float) -> int | None:
        """The first threshold index from which false alarms stay at or below ``target``."""
        ok = [self.false_alarm_rate(i) <= target for i in range(len(self.false_alarms))]
        return next((i for i in range(len(ok)) if all(ok[i:])), None)

    def powerful_to(self, target: float) -> int | None:
        """The last threshold index up to which the slowdown is caught at least ``target`` of the time."""
        ok = [self.power(i) >= target for i in range(len(self.caught))]
        return next((i for i in reversed(range(len(ok))) if all(ok[: i + 1])), None)


@dataclass(frozen=True)
class Recommendation:
    target_false_alarms: float
    target_power: float
    slowdown: float
    alpha: float
    rounds: int | None  # interleaved runs a side (None: no set-up up to the calibration's size met both)
    max_slowdown: float | None
    interleaved: Rates | None  # the rates of the recommended number of rounds
    committed_max_slowdown: float | None
    committed: Rates
    max_acc_drop: float
    committed_max_acc_drop: float
    accuracy_spread: float  # the largest accuracy difference identical code showed (0: deterministic)
    why: str  # one line: how the numbers were chosen, or why there are none


# -- error rates ---------------------------------------------------------------------------------------


def interleaved_rates(runs: CalibrationRuns, k: int, alpha: float, max_splits: int = MAX_SPLITS) -> Rates:
    """The gate on k interleaved runs a side, over every window of k consecutive rounds."""
    rng = np.random.default_rng(k)
    tally = _Tally(alpha)
    windows = runs.rounds // k
    for w in range(windows):
        same, slowed = runs.same[2 * k * w : 2 * k * (w + 1)], runs.slowed[k * w : k * (w + 1)]
        for chosen in splits(2 * k, k, max_splits, rng):
            x = [same[i] for i in chosen]
            y = [same[i] for i in range(2 * k) if i not in chosen]
            for group in runs.groups:
                tally.identical(_side(x, group), _side(y, group), both_ways=True)
                for side in (x, y):
                    tally.slowed(_side(side, group), _side(slowed, group))
    return tally.rates("interleaved", k, windows)


def committed_rates(runs: CalibrationRuns, alpha: float) -> tuple[Rates, list[int]]:
    """The gate on one run at a time against a baseline of pooled identical-code runs; also which runs
    (indices into ``runs.same``) make that baseline."""
    chosen = baseline_runs(runs)
    base = [runs.same[i] for i in chosen]
    tally = _Tally(alpha)
    for group in runs.groups:
        for i, run in enumerate(runs.same):
            if i not in chosen:
                tally.identical(_side(base, group), _side([run], group), both_ways=False)
        for run in runs.slowed:
            tally.slowed(_side(base, group), _side([run], group))
    return tally.rates("committed baseline", 1, 1), chosen


def baseline_runs(runs: CalibrationRuns, n: int = COMMITTED_BASELINE_RUNS) -> list[int]:
    """``n`` identical-code runs spread evenly over the calibration, clean ones only where there are enough,
    leaving at least one run to check against them."""
    every = list(range(len(runs.same)))
    n = max(1, min(n, len(every) - 1))
    clean = [i for i in every if not runs.clean or runs.clean[i]]
    pool = clean if len(clean) >= n else every
    return sorted({pool[int(round(x))] for x in np.linspace(0, len(pool) - 1, n)})


def splits(n: int, k: int, limit: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Ways to take k of n runs as one side, each split once (the first run always on that side); at most
    ``limit`` of them, drawn without replacement when there are more."""
    every = [c for c in itertools.combinations(range(n), k) if c[0] == 0]
    if len(every) <= limit:
        return every
    return [every[i] for i in sorted(rng.choice(len(every), size=limit, replace=False))]


class _Tally:
    """Counts verdicts at every threshold as comparisons come in."""

    def __init__(self, alpha: float):
        self.alpha = alpha
        self.false_alarms = np.zeros(len(THRESHOLDS), dtype=int)
        self.caught = np.zeros(len(THRESHOLDS), dtype=int)
        self.aa_rows = self.slowed_rows = 0
        self.ratio_max = math.nan

    def identical(self, base: list[stats.JobSteps], cand: list[stats.JobSteps], both_ways: bool) -> None:
        """An identical-code comparison. Both ways: swapping the sides swaps regression and improvement, so
        one comparison is two checks, and each of its changes is a false alarm of one of them."""
        c = stats.compare_speed(base, cand, self.alpha)
        alarms = (Verdict.REGRESSION, Verdict.IMPROVEMENT) if both_ways else (Verdict.REGRESSION,)
        self.aa_rows += 2 if both_ways else 1
        self.false_alarms += [decide(c, m, self.alpha)[0] in alarms for m in THRESHOLDS]
        if math.isfinite(c.ratio):  # identical code is as likely to come out faster as slower: either way
            self.ratio_max = max(c.ratio, 1 / c.ratio, self.ratio_max if math.isfinite(self.ratio_max) else 0.0)

    def slowed(self, base: list[stats.JobSteps], cand: list[stats.JobSteps]) -> None:
        c = stats.compare_speed(base, cand, self.alpha)
        self.slowed_rows += 1
        self.caught += [decide(c, m, self.alpha)[0] is Verdict.REGRESSION for m in THRESHOLDS]

    def rates(self, setup: str, rounds: int, windows: int) -> Rates:
        return Rates(
            setup,
            rounds,
            windows,
            self.aa_rows,
            self.slowed_rows,
            tuple(int(x) for x in self.false_alarms),
            tuple(int(x) for x in self.caught),
            self.ratio_max,
        )


def _side(runs: Sequence[RunSteps], group: Group) -> list[stats.JobSteps]:
    return [job for run in runs for job in run.get(group, ())]


# -- recommendation ------------------------------------------------------------------------------------


def recommend(
    per_k: Sequence[Rates],
    committed: Rates,
    runs: CalibrationRuns,
    target_false_alarms: float,
    target_power: float,
    alpha: float,
) -> Recommendation:
    """The fewest interleaved rounds a side at which some threshold keeps false alarms at or below the
    target while catching the injected slowdown at least ``target_power`` of the time; of the thresholds
    that do, the one in the middle of that range (in log space: margins on both sides). For a committed
    baseline, the smallest threshold ``COMMITTED_MARGIN`` above its largest identical-code ratio."""
    chosen: tuple[Rates, int] | None = None
    for rates in sorted(per_k, key=lambda r: r.rounds):
        lo, hi = rates.quiet_from(target_false_alarms), rates.powerful_to(target_power)
        if lo is not None and hi is not None and lo <= hi:
            middle = (math.log1p(THRESHOLDS[lo]) + math.log1p(THRESHOLDS[hi])) / 2
            chosen = (rates, min(range(lo, hi + 1), key=lambda i: abs(math.log1p(THRESHOLDS[i]) - middle)))
            break
    committed_m = committed_threshold(committed)
    acc, committed_acc = accuracy_threshold(runs, 0.01), accuracy_threshold(runs, 0.02)
    common = dict(
        target_false_alarms=target_false_alarms,
        target_power=target_power,
        slowdown=runs.slowdown,
        alpha=alpha,
        committed_max_slowdown=committed_m,
        committed=committed,
        max_acc_drop=acc,
        committed_max_acc_drop=committed_acc,
        accuracy_spread=runs.accuracy_spread,
    )
    if chosen is None:
        most = max((r.rounds for r in per_k), default=0)
        return Recommendation(
            rounds=None,
            max_slowdown=None,
            interleaved=None,
            why=f"no number of rounds up to {most} kept false alarms at or below {target_false_alarms:.1%} while "
            f"catching a {runs.slowdown:.0%} slowdown {target_power:.0%} of the time: calibrate with more "
            "rounds, or a larger --slowdown",
            **common,
        )
    rates, i = chosen
    return Recommendation(
        rounds=rates.rounds,
        max_slowdown=THRESHOLDS[i],
        interleaved=rates,
        why=f"the fewest rounds a side that met both targets; --max-slowdown in the middle of the thresholds "
        f"that did ({THRESHOLDS[rates.quiet_from(target_false_alarms)]:g} to "
        f"{THRESHOLDS[rates.powerful_to(target_power)]:g})",
        **common,
    )


def committed_threshold(committed: Rates) -> float | None:
    """The smallest threshold ``COMMITTED_MARGIN`` above the largest identical-code ratio, with no false
    alarm in the calibration; None when even the largest threshold is not."""
    need = COMMITTED_MARGIN * committed.aa_ratio_max
    if not math.isfinite(need):
        return None
    for i, m in enumerate(THRESHOLDS):
        if 1 + m >= need and committed.false_alarms[i] == 0:
            return m
    return None


def accuracy_threshold(runs: CalibrationRuns, default: float) -> float:
    """``default``, or twice the largest accuracy difference identical code showed, rounded up to half a
    point, when that is more (a machine whose reruns are not deterministic)."""
    needed = math.ceil(2 * runs.accuracy_spread / _ACC_STEP - 1e-9) * _ACC_STEP
    return round(max(default, needed), 4)


# -- this machine's noise -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupNoise:
    group: Group
    runs: int
    median_ms: tuple[float, float]  # range over identical-code runs of the per-run median step time
    fastest_ms: tuple[float, float]  # range of the per-run fastest block
    slow_runs: int  # runs whose median is beyond SLOW_LEVEL x the lowest median: mostly at a slow level


def noise(runs: CalibrationRuns) -> list[GroupNoise]:
    out = []
    for group in runs.groups:
        jobs = [_side([run], group) for run in runs.same]
        medians = np.array([np.median(np.concatenate([j.steps for j in js])) for js in jobs]) * 1e3
        fastest = np.array([min(j.block_medians.min() for j in js) for js in jobs]) * 1e3
        slow = int((medians > SLOW_LEVEL * medians.min()).sum())
        out.append(
            GroupNoise(
                group,
                len(jobs),
                (float(medians.min()), float(medians.max())),
                (float(fastest.min()), float(fastest.max())),
                slow,
            )
        )
    return out


# -- what CI reads -------------------------------------------------------------------------------------

#: The files ``--write`` produces, each read by .ci/run or the workflow example: name -> what it holds.
ARGS_FILES = {
    "ci-smoke.args": "bench run options of the smoke spec (.ci/run and the workflow)",
    "ci-smoke.json": "the committed baseline (.ci/run)",
    "ci-thresholds.args": "bench check options against the committed baseline (.ci/run)",
    "ci-interleaved.args": "bench check options for interleaved rounds (the workflow)",
    "ci-rounds": "interleaved runs a side (the workflow's ROUNDS)",
}


def args_texts(rec: Recommendation, run_args: Sequence[str]) -> dict[str, str]:
    """The args files' texts (all but the baseline); BenchError-free: the caller checks ``rec`` is complete."""
    assert rec.rounds is not None and rec.max_slowdown is not None and rec.committed_max_slowdown is not None
    return {
        "ci-smoke.args": " ".join(run_args) + "\n",
        "ci-thresholds.args": f"--max-slowdown {rec.committed_max_slowdown:g} --max-acc-drop "
        f"{rec.committed_max_acc_drop:g} --alpha {rec.alpha:g} --normalize never\n",
        "ci-interleaved.args": f"--max-slowdown {rec.max_slowdown:g} --max-acc-drop {rec.max_acc_drop:g} "
        f"--alpha {rec.alpha:g}\n",
        "ci-rounds": f"{rec.rounds}\n",
    }
