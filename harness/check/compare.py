"""The comparison behind ``bench check``: baseline Side + candidate Side + thresholds -> a typed Report.

Pure: no I/O, no printing; the statistics live in ``harness.stats``. Per backend x cell it makes

- one **speed** row: ``stats.speed_verdict`` on the timed step series (one per job, all runs of a side
  pooled), raw or normalised by machine speed (below); its values are the sides' fastest block medians
  (the statistic compared), the overall medians are in its detail;
- two **accuracy** rows (test accuracy, best validation accuracy): when both sides ran the same seeds
  (matched mode: same seed, same initial weights, same batches, so the runs are deterministic reruns),
  the mean per-seed change must not drop by more than ``max_acc_drop`` (a paired t-test is reported
  beside it when there are two or more seeds); with different seeds, two or more a side, the means are
  compared with Welch's t-test and a regression needs a mean drop beyond ``max_acc_drop`` *and*
  p < alpha. Several runs of one seed on a side (rounds) count as one value, their mean;
- a **failed** row for each candidate job that crashed, timed out or was interrupted where the baseline's
  same job succeeded (a crash is a regression too).

It refuses (``BenchError``, exit 2) to compare runs of different data (fingerprint), mode or spec.

Machine drift: every job times a fixed, framework-free workload (``harness.calibration``) at its start
and end. When the two sides ran on different machines (hostname or CPU model) or the fastest calibration
time moved by more than ``CALIBRATION_TOLERANCE``, step times are divided by their side's fastest
calibration time before comparing (the fastest, as for the steps: contention only adds time), and the
report says so. Normalisation is not the default on one machine because the calibration is itself
noisy: over the 246 jobs of a 20-trial ``scripts/prove_check.py`` run on the 2-core development VM, each
job's fastest calibration timing ranged 51.7-92.4 ms (median 53.6, 95th percentile 72.5), and a neighbour
slows it differently from a framework step, so normalising there would add noise, not remove it. The
tolerance of 25% keeps most same-machine comparisons raw (the 95th percentile is 35% above the median,
so a badly contended calibration can still trigger it; the output then says so); normalised comparisons also resample the
calibration timings in the bootstrap, so their noise widens the interval instead of hiding in it. The
calibration is single-threaded NumPy, so a
thread-count change (a real configuration change) is never normalised away.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import partial

import numpy as np

from harness import stats
from harness.errors import EXIT_OK, EXIT_REGRESSION, BenchError
from harness.spec import PER_JOB_FIELDS

from .samples import JobSample, Side

#: Relative move of the fastest calibration time beyond which a run counts as "on another machine".
CALIBRATION_TOLERANCE = 0.25
#: Spec fields that differ between the jobs of one run by design; all others must match to compare.
#: Accuracies are multiples of 1/n_test; this keeps 0.75 - 0.74 from counting as a drop beyond 0.01.
_EPS = 1e-9


class Verdict(str, Enum):  # noqa: UP042 - one enum with stats.Change is due
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    NO_CHANGE = "no significant change"
    INCONCLUSIVE = "inconclusive"
    FAILED = "failed"  # the candidate's job did not finish where the baseline's did
    NOT_COMPARED = "not compared"  # only one side has this backend x cell

    @property
    def fails(self) -> bool:
        return self in (Verdict.REGRESSION, Verdict.FAILED)


@dataclass(frozen=True)
class Thresholds:
    max_slowdown: float = 0.10
    max_acc_drop: float = 0.01
    alpha: float = 0.01
    normalize: str = "auto"  # auto | always | never


@dataclass(frozen=True)
class Row:
    backend: str
    cell: str
    metric: str  # "step time" | "test acc" | "best val acc" | "job"
    seeds: str  # the seeds behind the numbers, e.g. "0" or "0,1,2" or "0 vs 1"
    verdict: Verdict
    detail: str  # one line: why this verdict
    method: str = ""  # how it was decided
    baseline: float | None = None  # step time: raw fastest block median, seconds; accuracy: value or mean
    candidate: float | None = None
    change: float | None = None  # step time: ratio - 1 (normalised if so); accuracy: candidate - baseline
    low: float | None = None  # confidence interval of change
    high: float | None = None
    p_value: float | None = None


@dataclass(frozen=True)
class Machine:
    normalised: bool
    reason: str
    calibration_baseline_s: float | None  # fastest calibration time of each side
    calibration_candidate_s: float | None


@dataclass(frozen=True)
class SideInfo:
    kind: str
    path: str
    name: str
    jobs: int
    ok_jobs: int
    commits: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    baseline: SideInfo
    candidate: SideInfo
    thresholds: Thresholds
    machine: Machine
    notes: tuple[str, ...]
    rows: tuple[Row, ...]

    @property
    def failures(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.verdict.fails)

    @property
    def exit_code(self) -> int:
        return EXIT_REGRESSION if self.failures else EXIT_OK


def compare(baseline: Side, candidate: Side, thresholds: Thresholds = Thresholds()) -> Report:
    base_ok = [j for j in baseline.jobs if j.ok]
    cand_ok = [j for j in candidate.jobs if j.ok]
    if not base_ok:
        raise BenchError(f"baseline {baseline.path} has no successful job to compare against")
    if not cand_ok and not candidate.jobs:
        raise BenchError(f"candidate {candidate.path} has no jobs")
    refuse_if_incomparable(base_ok, cand_ok)
    common = {j.group for j in base_ok} & {j.group for j in candidate.jobs}
    if not common:
        raise BenchError(
            f"nothing to compare: the baseline has {_groups(baseline.jobs)}, the candidate {_groups(candidate.jobs)}"
        )
    machine = machine_drift(base_ok, cand_ok, thresholds)
    scales = (_calibration(base_ok), _calibration(cand_ok)) if machine.normalised else (None, None)
    rows: list[Row] = []
    for group in sorted({j.group for j in (*baseline.jobs, *candidate.jobs)}):
        b = [j for j in baseline.jobs if j.group == group]
        c = [j for j in candidate.jobs if j.group == group]
        rows.extend(group_rows(group, b, c, thresholds, scales))
    return Report(
        _info(baseline), _info(candidate), thresholds, machine, tuple(notes(baseline.jobs, candidate.jobs)), tuple(rows)
    )


# -- refusal --------------------------------------------------------------------------------------------


def refuse_if_incomparable(base: Sequence[JobSample], cand: Sequence[JobSample]) -> None:
    """BenchError (exit 2) when the sides measured different things: data, mode or spec."""
    fp_b, fp_c = {j.fingerprint for j in base}, {j.fingerprint for j in cand}
    if cand and fp_b != fp_c:
        raise BenchError(
            f"baseline and candidate used different data (fingerprint {_short(fp_b)} vs "
            f"{_short(fp_c)}): rerun the candidate on the baseline's data"
        )
    modes_b, modes_c = {j.mode for j in base}, {j.mode for j in cand}
    if cand and modes_b != modes_c:
        raise BenchError(
            f"baseline and candidate ran in different modes ({'/'.join(sorted(map(str, modes_b)))} vs "
            f"{'/'.join(sorted(map(str, modes_c)))}): rerun the candidate with the baseline's --mode"
        )
    for group in sorted({j.group for j in base} & {j.group for j in cand}):
        jb = next(j for j in base if j.group == group)
        jc = next(j for j in cand if j.group == group)
        diff = spec_diff(jb.spec or {}, jc.spec or {})
        if diff:
            raise BenchError(
                f"baseline and candidate specs differ for {'/'.join(group)} (spec_hash {jb.spec_hash} "
                f"vs {jc.spec_hash}: {diff}): compare runs of the same spec"
            )


def spec_diff(a: Mapping, b: Mapping) -> str:
    """The fields (other than cell and seed) that differ, as "name a vs b, ..."; empty when none."""
    keys = sorted((set(a) | set(b)) - set(PER_JOB_FIELDS))
    return ", ".join(f"{k} {a.get(k)!r} vs {b.get(k)!r}" for k in keys if a.get(k) != b.get(k))


# -- machine drift -------------------------------------------------------------------------------------


def machine_drift(base: Sequence[JobSample], cand: Sequence[JobSample], th: Thresholds) -> Machine:
    cal_b, cal_c = _calibration(base), _calibration(cand)
    fast_b = min(cal_b) if cal_b else None
    fast_c = min(cal_c) if cal_c else None
    moved = fast_c / fast_b - 1 if fast_b and fast_c else None
    differences = [
        f"{label} {_join(b)} vs {_join(c)}"
        for key, label in (("hostname", "host"), ("cpu_model", "CPU"))
        if (b := _env(base, key)) and (c := _env(cand, key)) and b != c
    ]
    calibration = (
        f"calibration {fast_b:.3g} s vs {fast_c:.3g} s ({moved:+.0%})"
        if moved is not None
        else "no calibration timings"
    )
    if th.normalize == "never":
        return Machine(False, f"raw step times (--normalize never); {calibration}", fast_b, fast_c)
    if not base or not cand:
        return Machine(False, "no successful job on one side: no step times compared", fast_b, fast_c)
    if moved is None:
        where = f" although the machines differ ({'; '.join(differences)})" if differences else ""
        return Machine(False, f"raw step times: no calibration timings to normalise by{where}", fast_b, fast_c)
    if th.normalize == "always":
        return Machine(
            True, f"step times normalised by calibration (--normalize always); {calibration}", fast_b, fast_c
        )
    drifted = abs(math.log1p(moved)) > math.log1p(CALIBRATION_TOLERANCE)
    if differences or drifted:
        why = "; ".join(differences) if differences else f"beyond the {CALIBRATION_TOLERANCE:.0%} tolerance"
        return Machine(True, f"step times normalised by calibration: {why}; {calibration}", fast_b, fast_c)
    return Machine(
        False,
        f"raw step times: same machine, {calibration}, within the {CALIBRATION_TOLERANCE:.0%} tolerance",
        fast_b,
        fast_c,
    )


# -- one backend x cell --------------------------------------------------------------------------------


def group_rows(
    group: tuple[str, str],
    base: Sequence[JobSample],
    cand: Sequence[JobSample],
    th: Thresholds,
    scales: tuple[list[float] | None, list[float] | None],
) -> list[Row]:
    backend, cell = group
    row = partial(Row, backend, cell)
    if not cand:
        return [row("job", _seed_label(_seeds(base)), Verdict.NOT_COMPARED, "not in the candidate run")]
    if not base:
        return [row("job", _seed_label(_seeds(cand)), Verdict.NOT_COMPARED, "new: not in the baseline")]
    base_ok = [j for j in base if j.ok]
    cand_ok = [j for j in cand if j.ok]
    ok_seeds = {j.seed for j in base_ok}
    rows = [
        row(
            "job",
            str(j.seed),
            Verdict.FAILED if j.seed in ok_seeds else Verdict.NOT_COMPARED,
            f"candidate job {j.job_id} {j.status}: {j.error or 'no error recorded'}"
            + ("" if j.seed in ok_seeds else " (the baseline has no successful job for this seed either)"),
        )
        for j in cand
        if not j.ok
    ]
    if not cand_ok:
        return rows  # every candidate job failed: one row each, above
    if not base_ok:
        return rows + [row("job", _seed_label(_seeds(cand_ok)), Verdict.NOT_COMPARED, "no successful baseline job")]
    rows.append(speed_row(backend, cell, base_ok, cand_ok, th, scales))
    for metric, value in (("test acc", lambda j: j.test_acc), ("best val acc", lambda j: j.best_val_acc)):
        rows.append(accuracy_row(backend, cell, metric, _values(base_ok, value), _values(cand_ok, value), th))
    return rows


def speed_row(
    backend: str,
    cell: str,
    base: Sequence[JobSample],
    cand: Sequence[JobSample],
    th: Thresholds,
    scales: tuple[list[float] | None, list[float] | None],
) -> Row:
    v = stats.speed_verdict(
        [j.step_s for j in base],
        [j.step_s for j in cand],
        th.max_slowdown,
        th.alpha,
        baseline_scale=scales[0],
        candidate_scale=scales[1],
    )
    method = (
        f"ratio of fastest block medians; Mann-Whitney U on {v.blocks_baseline} vs {v.blocks_candidate} block "
        f"medians ({v.n_baseline} vs {v.n_candidate} steps, {v.jobs_baseline} vs {v.jobs_candidate} jobs); "
        f"block bootstrap {1 - th.alpha:.0%} CI; the verdict must hold with any one job of either side left out"
        + ("; calibration-normalised" if v.normalised else "")
    )
    detail = v.reason
    if v.n_baseline and v.n_candidate:
        detail += f"; medians {v.median_baseline * 1e3:.3g} vs {v.median_candidate * 1e3:.3g} ms"
    if max(v.jobs_baseline, v.jobs_candidate) > 1 and math.isfinite(v.robust_low):
        detail += f"; with any one job left out {v.robust_low - 1:+.1%} to {v.robust_high - 1:+.1%}"
    return Row(
        backend,
        cell,
        "step time",
        _seed_label(_seeds(base), _seeds(cand)),
        Verdict(v.change.value),
        detail,
        method,
        _num(v.fastest_baseline),
        _num(v.fastest_candidate),
        _minus_one(v.ratio),
        _minus_one(v.low),
        _minus_one(v.high),
        _num(v.p_value),
    )


def accuracy_row(
    backend: str, cell: str, metric: str, base: Mapping[int, float], cand: Mapping[int, float], th: Thresholds
) -> Row:
    seeds = _seed_label(base, cand)
    if not base or not cand:
        return Row(backend, cell, metric, seeds, Verdict.INCONCLUSIVE, "no value recorded on one side")
    if set(base) == set(cand):
        # Same seeds: same initial weights, same batches, so each seed is a deterministic rerun; the change
        # is the code's, and a threshold decides. With several seeds a paired t-test is shown beside it.
        diffs = [cand[s] - base[s] for s in sorted(base)]
        ci = stats.mean_ci(diffs, confidence=1 - th.alpha)
        p = stats.one_sample_t_p(diffs)
        what = "" if len(diffs) == 1 else "mean "
        detail = _accuracy_detail(ci.mean, th.max_acc_drop, what) + ("" if math.isnan(p) else f" (paired t p={p:.2g})")
        method = (
            "same seed, threshold"
            if len(diffs) == 1
            else f"same seeds, threshold on the mean of {len(diffs)} paired changes"
        )
        return Row(
            backend,
            cell,
            metric,
            seeds,
            _accuracy_verdict(ci.mean, th.max_acc_drop, True),
            detail,
            method,
            float(np.mean(list(base.values()))),
            float(np.mean(list(cand.values()))),
            ci.mean,
            _num(ci.low),
            _num(ci.high),
            _num(p),
        )
    if len(base) >= 2 and len(cand) >= 2:
        w = stats.welch(list(base.values()), list(cand.values()), confidence=1 - th.alpha)
        significant = w.p_value < th.alpha
        verdict = _accuracy_verdict(w.diff, th.max_acc_drop, significant)
        detail = _accuracy_detail(w.diff, th.max_acc_drop, "mean ")
        if verdict is Verdict.NO_CHANGE and abs(w.diff) > th.max_acc_drop + _EPS:
            detail += f", not significant (p={w.p_value:.2g})"
        elif verdict is not Verdict.NO_CHANGE:
            detail += f", p={w.p_value:.2g} < {th.alpha:g}"
        return Row(
            backend,
            cell,
            metric,
            seeds,
            verdict,
            detail,
            f"Welch t-test, {w.n_a} vs {w.n_b} seeds",
            w.mean_a,
            w.mean_b,
            w.diff,
            _num(w.low),
            _num(w.high),
            _num(w.p_value),
        )
    mean_b, mean_c = float(np.mean(list(base.values()))), float(np.mean(list(cand.values())))
    diff = mean_c - mean_b
    return Row(
        backend,
        cell,
        metric,
        seeds,
        _accuracy_verdict(diff, th.max_acc_drop, True),
        _accuracy_detail(diff, th.max_acc_drop, "mean "),
        "different seeds, too few for a test: threshold on the means",
        mean_b,
        mean_c,
        diff,
    )


def _accuracy_verdict(diff: float, max_drop: float, significant: bool) -> Verdict:
    if significant and diff < -(max_drop + _EPS):
        return Verdict.REGRESSION
    if significant and diff > max_drop + _EPS:
        return Verdict.IMPROVEMENT
    return Verdict.NO_CHANGE


def _accuracy_detail(diff: float, max_drop: float, what: str) -> str:
    if diff < -(max_drop + _EPS):
        return f"{what}dropped {-diff:.4f}, more than {max_drop:g}"
    if diff > max_drop + _EPS:
        return f"{what}rose {diff:.4f}, more than {max_drop:g}"
    return f"{what}changed {diff:+.4f}, within {max_drop:g}"


# -- notes ---------------------------------------------------------------------------------------------


def notes(base: Sequence[JobSample], cand: Sequence[JobSample]) -> list[str]:
    """What a reader must know to trust the verdicts: changed conditions, busy machines, failed baselines."""
    base_ok = [j for j in base if j.ok]
    cand_ok = [j for j in cand if j.ok]
    out = []
    threads_b, threads_c = _env(base_ok, "threads"), _env(cand_ok, "threads")
    if threads_b and threads_c and threads_b != threads_c:
        out.append(
            f"threads differ: baseline {_join(threads_b)}, candidate {_join(threads_c)} "
            "(a configuration change: never normalised away)"
        )
    versions_b, versions_c = _frameworks(base_ok), _frameworks(cand_ok)
    for name in sorted(set(versions_b) | set(versions_c)) if base_ok and cand_ok else ():
        if versions_b.get(name) != versions_c.get(name):
            out.append(
                f"{name} version: baseline {_join(versions_b.get(name, {'not recorded'}))}, "
                f"candidate {_join(versions_c.get(name, {'not recorded'}))}"
            )
    for side, jobs in (("baseline", base), ("candidate", cand)):
        for j in jobs:
            if j.ok and j.busy:
                out.append(f"{side} job {j.job_id} ran on a busy machine: its step times are suspect")
            if j.ok and _calibration_moved(j):
                out.append(
                    f"{side} job {j.job_id}: calibration changed by {_calibration_moved(j):+.0%} between its "
                    "start and end (machine speed or load changed mid-job)"
                )
            if side == "baseline" and not j.ok:
                out.append(f"baseline job {j.job_id} {j.status}: not compared")
    return out


def _calibration_moved(job: JobSample) -> float | None:
    start, end = _clean(job.calibration.get("start_s", [])), _clean(job.calibration.get("end_s", []))
    if not start or not end:
        return None
    moved = min(end) / min(start) - 1
    return moved if abs(math.log1p(moved)) > math.log1p(CALIBRATION_TOLERANCE) else None


# -- helpers -------------------------------------------------------------------------------------------


def _calibration(jobs: Iterable[JobSample]) -> list[float]:
    return _clean(t for j in jobs for t in j.calibration_s)


def _clean(values: Iterable[float]) -> list[float]:
    """Finite, positive timings (0 or below is a recording bug, never a measurement)."""
    return [float(t) for t in values if math.isfinite(t) and t > 0]


def _values(jobs: Iterable[JobSample], value: Callable[[JobSample], float | None]) -> dict[int, float]:
    """One value per seed: the mean over the runs of that seed (deterministic reruns give one value)."""
    per_seed: dict[int, list[float]] = {}
    for j in jobs:
        if (v := value(j)) is not None:
            per_seed.setdefault(j.seed, []).append(v)
    return {seed: float(np.mean(vs)) for seed, vs in per_seed.items()}


def _env(jobs: Iterable[JobSample], key: str) -> set[str]:
    return {str(j.environment.get(key)) for j in jobs if j.environment.get(key) is not None}


def _frameworks(jobs: Iterable[JobSample]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for j in jobs:
        for name, version in (j.environment.get("frameworks") or {}).items():
            out.setdefault(str(name), set()).add(str(version))
    return out


def _info(side: Side) -> SideInfo:
    commits = sorted(
        {
            str(j.environment.get("git_commit"))[:12] + ("+dirty" if j.environment.get("git_dirty") else "")
            for j in side.jobs
            if j.environment.get("git_commit")
        }
    )
    return SideInfo(side.kind, str(side.path), side.name, len(side.jobs), sum(j.ok for j in side.jobs), tuple(commits))


def _groups(jobs: Iterable[JobSample]) -> str:
    return ", ".join(sorted({"/".join(j.group) for j in jobs})) or "no jobs"


def _seeds(jobs: Iterable[JobSample]) -> set[int]:
    return {j.seed for j in jobs}


def _seed_label(base: Iterable[int], cand: Iterable[int] | None = None) -> str:
    """ "0,1,2" for one side or equal sides, "0 vs 1" when they differ."""
    b = ",".join(map(str, sorted(base)))
    c = b if cand is None else ",".join(map(str, sorted(cand)))
    return b if b == c else f"{b} vs {c}"


def _join(values: Iterable[str]) -> str:
    return "/".join(sorted(values)) or "-"


def _short(fingerprints: set) -> str:
    return "/".join(sorted(str(f)[:12] for f in fingerprints))


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _minus_one(ratio: float) -> float | None:
    return None if not math.isfinite(ratio) else ratio - 1.0
