"""The runs of a gate calibration: rounds of three ``bench run``s of the CI smoke spec, each in fresh
processes, A and B (the code as it is) and F (every step slowed by an injected fraction, ``harness.inject``),
interleaved (A B F A B F ...) in a folder of their own; and reading them back for ``calibrate``.

A folder remembers its options (``PLAN_FILE``): running again with the same folder continues a calibration
(finished runs are kept, an interrupted one resumed) or adds rounds, and refuses other options.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import inject, stats
from harness.atomic import write_json
from harness.errors import BenchError
from harness.records import read_json

from .calibrate import CalibrationRuns, RunSteps
from .compare import calibration_moved
from .samples import JobSample, load_run

KINDS = {"a": "A (same code)", "b": "B (same code)", "f": "F (slowed)"}
PLAN_FILE = "calibration.json"
#: Options the calibration sets on every run itself.
_OWN_OPTIONS = ("--results", "--name", "--resume", "--quiet")
#: How long a stopped ``bench run`` gets to stop its worker and write its records (its own grace is 20 s).
_STOP_GRACE_S = 30.0


@dataclass(frozen=True)
class Plan:
    run_args: tuple[str, ...]  # bench run options of the spec to calibrate on (the CI smoke spec)
    slowdown: float  # the fraction the F runs are slowed by


def run_name(round_index: int, kind: str) -> str:
    return f"r{round_index:03d}-{kind}"


def read_args_file(path: Path) -> tuple[str, ...]:
    """The options in an args file, split on whitespace as ``$(cat FILE)`` in .ci/run splits them."""
    try:
        args = tuple(path.read_text(encoding="utf-8").split())
    except OSError as err:
        raise BenchError(f"cannot read {path}: {err.strerror or err}; pass the smoke spec's args file") from None
    if not args:
        raise BenchError(f"{path} holds no bench run options; pass the smoke spec's args file")
    own = sorted({a.split("=")[0] for a in args} & set(_OWN_OPTIONS))
    if own:
        raise BenchError(f"{path} sets {', '.join(own)}, which the calibration sets itself: remove them")
    return args


def prepare(folder: Path, plan: Plan) -> None:
    """Record the plan in ``folder``; BenchError when the folder holds a calibration with other options."""
    path = folder / PLAN_FILE
    if path.exists():
        saved = read_json(path, "calibration plan")
        if saved != _plan_json(plan):
            raise BenchError(
                f"{folder} holds a calibration with other options ({' '.join(saved.get('run_args', []))}, "
                f"slowdown {saved.get('slowdown')}); use another --runs folder"
            )
        return
    write_json(path, _plan_json(plan))


def _plan_json(plan: Plan) -> dict:
    return {**asdict(plan), "run_args": list(plan.run_args)}


def execute(plan: Plan, folder: Path, rounds: int, say: Callable[[str], None]) -> None:
    """Run whatever of ``rounds`` rounds the folder lacks, saying after each run where it stands."""
    todo = [(r, kind) for r in range(rounds) for kind in KINDS]
    missing = [(r, kind) for r, kind in todo if _state(folder / run_name(r, kind)) != "done"]
    if len(missing) < len(todo):
        say(f"{len(todo) - len(missing)} of {len(todo)} runs already in {folder}: running the other {len(missing)}")
    durations: list[float] = []
    for k, (r, kind) in enumerate(missing, start=1):
        started = time.monotonic()
        _bench_run(plan, folder, run_name(r, kind), kind)
        durations.append(time.monotonic() - started)
        eta = sum(durations) / len(durations) * (len(missing) - k)
        say(
            f"round {r + 1} of {rounds}: {KINDS[kind]} done in {durations[-1]:.0f} s; "
            f"{k} of {len(missing)} runs, ETA {_clock(eta)}"
        )


def _state(run_dir: Path) -> str:
    """ "done" (every job ok), "partial" (a manifest, not every job ok: resume it) or "new"."""
    if not (run_dir / "manifest.json").is_file():
        return "new"
    manifest = read_json(run_dir / "manifest.json", "run manifest")
    jobs = manifest.get("jobs") or []
    return "done" if jobs and all(j.get("status") == "ok" for j in jobs) else "partial"


def _bench_run(plan: Plan, folder: Path, name: str, kind: str) -> None:
    # A resumed run keeps its spec, but takes --threads from the command line: give it the options again.
    resume = _state(folder / name) == "partial"
    args = [*plan.run_args, "--resume" if resume else "--name", name]
    cmd = [sys.executable, "-m", "harness.cli", "run", *args, "--results", str(folder), "--quiet"]
    env = {k: v for k, v in os.environ.items() if k != inject.ENV}  # A and B must run as they are
    if kind == "f":
        env[inject.ENV] = repr(plan.slowdown)
    with _stopped_on_termination() as current:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        current.append(proc)
        try:
            _, err = proc.communicate()
        except BaseException:
            _stop(proc)
            raise
    if proc.returncode != 0:
        lines = [line for line in err.strip().splitlines() if line.strip()]
        said = next((line[len("error: ") :] for line in lines if line.startswith("error: ")), None)
        if said:  # bench run refused its options: the args file is wrong
            raise BenchError(f"bench run {' '.join(plan.run_args)}: {said}")
        raise BenchError(
            f"run {name} failed (bench run exit {proc.returncode}: {lines[-1] if lines else 'no message'}); "
            f"its logs are in {folder / name / 'logs'}; run the calibration again with --runs {folder} to retry it"
        )


@contextmanager
def _stopped_on_termination() -> Iterator[list[subprocess.Popen]]:
    """While a bench run child runs, SIGTERM and SIGHUP stop it (it marks its job interrupted and exits) and
    interrupt us, so no child is left running. The child gets the signal we got, not SIGINT: a child started
    in the background by a non-interactive shell inherits SIGINT ignored, and bench run keeps it ignored."""
    current: list[subprocess.Popen] = []

    def stop(signum, frame):
        for proc in current:
            if proc.poll() is None:
                proc.send_signal(signum)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield current
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop(proc: subprocess.Popen) -> None:
    """After an interrupt: the child got SIGINT too (the terminal's, or ours); give it time, then kill it."""
    try:
        proc.wait(timeout=_STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


# -- reading --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    runs: CalibrationRuns
    same_dirs: tuple[Path, ...]  # the identical-code run folders, in ``runs.same`` order
    skipped: int  # rounds left out: a run missing or with a job that is not ok


def load(folder: Path, slowdown: float | None = None) -> Loaded:
    """The complete rounds in ``folder`` (``rNNN-a``, ``-b``, ``-f``, every job ok), in round order."""
    if not folder.is_dir():
        raise BenchError(f"{folder} is not a folder of calibration runs; give the --runs folder of a calibration")
    if slowdown is None and (folder / PLAN_FILE).is_file():
        slowdown = float(read_json(folder / PLAN_FILE, "calibration plan")["slowdown"])
    indices = sorted({int(p.name[1:4]) for p in folder.glob("r[0-9][0-9][0-9]-[abf]") if p.is_dir()})
    rounds, skipped = [], 0
    for r in indices:
        dirs = {kind: folder / run_name(r, kind) for kind in KINDS}
        if all(_state(d) == "done" for d in dirs.values()):
            rounds.append({kind: (d, load_run(d).jobs) for kind, d in dirs.items()})
        else:
            skipped += 1
    if not rounds:
        raise BenchError(
            f"no complete calibration round in {folder} (runs rNNN-a, rNNN-b, rNNN-f with every job ok); "
            "run bench check calibrate with --runs to make them"
        )
    slowdown = _check_injection(rounds, slowdown)
    same = [rnd[kind] for rnd in rounds for kind in "ab"]
    calibration_runs = CalibrationRuns(
        same=tuple(_steps(jobs) for _, jobs in same),
        slowed=tuple(_steps(rnd["f"][1]) for rnd in rounds),
        slowdown=slowdown,
        clean=tuple(all(not j.busy and not calibration_moved(j) for j in jobs) for _, jobs in same),
        accuracy_spread=_accuracy_spread([jobs for _, jobs in same]),
    )
    return Loaded(calibration_runs, tuple(d for d, _ in same), skipped)


def _check_injection(rounds: list[dict], slowdown: float | None) -> float:
    """The F runs' injected slowdown, as their records say; BenchError when the runs do not say what they are."""
    for rnd in rounds:
        for kind, (run_dir, jobs) in rnd.items():
            fractions = {j.injected_slowdown for j in jobs}
            if kind != "f" and fractions != {0.0}:
                raise BenchError(f"{run_dir} should run the code as it is, but its records say it was slowed")
            if kind == "f" and (0.0 in fractions or len(fractions) != 1):
                raise BenchError(f"{run_dir} should be slowed, but its records do not all say by the same fraction")
            if kind == "f":
                (fraction,) = fractions
                if slowdown is not None and not math.isclose(fraction, slowdown, rel_tol=1e-9):
                    raise BenchError(f"{run_dir} was slowed by {fraction:g}, the calibration by {slowdown:g}")
                slowdown = fraction
    assert slowdown is not None
    return slowdown


def _steps(jobs: Sequence[JobSample]) -> RunSteps:
    out: dict[tuple[str, str], list[stats.JobSteps]] = {}
    for job in jobs:
        if job.ok and job.step_s.size:
            out.setdefault(job.group, []).append(stats.job_steps(job.step_s))
    return out


def _accuracy_spread(runs: Sequence[Sequence[JobSample]]) -> float:
    """The largest difference of test or best validation accuracy between identical-code runs of one job."""
    values: dict[tuple, list[float]] = {}
    for jobs in runs:
        for j in jobs:
            for metric, value in (("test", j.test_acc), ("val", j.best_val_acc)):
                if value is not None:
                    values.setdefault((j.group, j.seed, metric), []).append(value)
    return max((max(v) - min(v) for v in values.values()), default=0.0)


def describe_plan(plan: Plan, rounds: int) -> str:
    return (
        f"{rounds} rounds of A, B (the code as it is) and F (every step {plan.slowdown:.0%} slower, injected), "
        f"interleaved, each a fresh bench run {' '.join(plan.run_args)}"
    )


def plan_of(folder: Path) -> Plan | None:
    """The plan a calibration folder records (None when it has none)."""
    path = folder / PLAN_FILE
    if not path.is_file():
        return None
    saved = read_json(path, "calibration plan")
    return Plan(tuple(saved["run_args"]), float(saved["slowdown"]))
