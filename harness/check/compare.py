"""The comparison behind ``bench check``: baseline Side + candidate Side + thresholds -> a typed Report.

Pure: no I/O, no printing. Per backend x cell: one step-time row (``speed``), two accuracy rows (test and
best validation accuracy: ``accuracy``), and a failed row for each candidate job that crashed, timed out or
was interrupted where the baseline's same job succeeded. It refuses (``BenchError``, exit 2) to compare
runs of different data (fingerprint), mode, device (a GPU run against a CPU run) or spec. When the sides ran on different machines, or the
calibration workload's time moved beyond ``CALIBRATION_TOLERANCE``, step times are normalised by it.
Method and measurements: docs/methodology.md, "Statistics of bench check".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from harness import stats
from harness.errors import EXIT_OK, EXIT_REGRESSION, BenchError
from harness.spec import PER_JOB_FIELDS

from .accuracy import accuracy_row
from .samples import JobSample, Side
from .speed import speed_verdict
from .verdict import Row, Thresholds, Verdict, finite_or_none, seed_label

#: Relative move of the fastest calibration time beyond which a run counts as "on another machine".
CALIBRATION_TOLERANCE = 0.25
#: bench check's default thresholds (its options' defaults).
DEFAULTS = Thresholds()


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


def compare(baseline: Side, candidate: Side, thresholds: Thresholds = DEFAULTS) -> Report:
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
    """BenchError (exit 2) when the sides measured different things: data, mode, device or spec."""
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
    devices_b, devices_c = {j.device for j in base}, {j.device for j in cand}
    if cand and devices_b != devices_c:
        raise BenchError(
            f"baseline and candidate trained on different devices ({'/'.join(sorted(devices_b))} vs "
            f"{'/'.join(sorted(devices_c))}): a GPU's step times say nothing about a CPU's; compare runs "
            "on the same device (bench run --device)"
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
        return [row("job", seed_label(_seeds(base)), Verdict.NOT_COMPARED, "not in the candidate run")]
    if not base:
        return [row("job", seed_label(_seeds(cand)), Verdict.NOT_COMPARED, "new: not in the baseline")]
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
        return rows + [row("job", seed_label(_seeds(cand_ok)), Verdict.NOT_COMPARED, "no successful baseline job")]
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
    v = speed_verdict(
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
        seed_label(_seeds(base), _seeds(cand)),
        v.verdict,
        detail,
        method,
        finite_or_none(v.fastest_baseline),
        finite_or_none(v.fastest_candidate),
        _minus_one(v.ratio),
        _minus_one(v.low),
        _minus_one(v.high),
        finite_or_none(v.p_value),
    )


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
        slowed = sorted({j.injected_slowdown for j in jobs if j.injected_slowdown})
        if slowed:
            out.append(
                f"{side} ran with a slowdown of {'/'.join(f'{x:.0%}' for x in slowed)} injected by bench check "
                "calibrate: its step times measure the gate, not the code"
            )
        for j in jobs:
            if j.ok and j.busy:
                out.append(f"{side} job {j.job_id} ran on a busy machine: its step times are suspect")
            if j.ok and calibration_moved(j):
                out.append(
                    f"{side} job {j.job_id}: calibration changed by {calibration_moved(j):+.0%} between its "
                    "start and end (machine speed or load changed mid-job)"
                )
            if side == "baseline" and not j.ok:
                out.append(f"baseline job {j.job_id} {j.status}: not compared")
    return out


def calibration_moved(job: JobSample) -> float | None:
    """How much the job's calibration time moved between its start and end, when beyond the tolerance."""
    start, end = stats.positive(job.calibration.get("start_s", [])), stats.positive(job.calibration.get("end_s", []))
    if not start.size or not end.size:
        return None
    moved = float(end.min() / start.min()) - 1
    return moved if abs(math.log1p(moved)) > math.log1p(CALIBRATION_TOLERANCE) else None


# -- helpers -------------------------------------------------------------------------------------------


def _calibration(jobs: Iterable[JobSample]) -> list[float]:
    return [float(t) for t in stats.positive(t for j in jobs for t in j.calibration_s)]


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


def _join(values: Iterable[str]) -> str:
    return "/".join(sorted(values)) or "-"


def _short(fingerprints: set) -> str:
    return "/".join(sorted(str(f)[:12] for f in fingerprints))


def _minus_one(ratio: float) -> float | None:
    return None if not math.isfinite(ratio) else ratio - 1.0
