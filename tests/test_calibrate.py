"""bench check calibrate: error rates replayed on calibration runs (generated here, no training), the
recommendation as pure functions, the files it writes, its refusals, and one real tiny calibration."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from harness import inject, stats
from harness.check import calibrate as cal
from harness.check import rounds
from harness.cli import cli
from tests.fixtures.factory import make_record, write_run

EPOCHS = (0.6, 0.66, 0.7, 0.72, 0.73, 0.74)  # 6 epochs of 10 steps: 58 timed steps a job
SMOKE = "--backends keras,torch --cells lstm --epochs 6"


def calibration_folder(root: Path, n_rounds: int = 2, slowed_ms: float = 30.0, slowdown: float = 0.5) -> Path:
    """What bench check calibrate --runs ROOT leaves: its plan, rNNN-a/b/f runs; F slowed (and recorded so)."""
    root.mkdir(parents=True, exist_ok=True)
    rounds.prepare(root, rounds.Plan(tuple(SMOKE.split()), slowdown))
    seed = 0
    for r in range(n_rounds):
        for kind in "abf":
            name, seed = rounds.run_name(r, kind), seed + 1
            records = [
                make_record(b, run=name, step_ms=slowed_ms if kind == "f" else 20.0, val_accs=EPOCHS, rng_seed=seed + i)
                for i, b in enumerate(("keras", "torch"))
            ]
            if kind == "f":
                for record in records:
                    record["runtime"][inject.RECORD_KEY] = {"fraction": slowdown, "step_s": [], "wait_s": []}
            write_run(root, name, records)
    return root


def th(m: float) -> int:
    return cal.THRESHOLDS.index(m)


# -- error rates on recorded runs --------------------------------------------------------------------------


def test_counts_false_alarms_and_catches(tmp_path):
    loaded = rounds.load(calibration_folder(tmp_path))
    runs = loaded.runs
    assert (runs.rounds, runs.slowdown, loaded.skipped, len(loaded.same_dirs)) == (2, 0.5, 0, 4)
    one = cal.interleaved_rates(runs, 1, alpha=0.01)
    # Two windows of one round; one split each, checked both ways, per backend; each side against the F run.
    assert (one.windows, one.aa_rows, one.slowed_rows) == (2, 8, 8)
    assert one.false_alarms[th(0.1)] == 0 and one.caught[th(0.1)] == 8 and one.caught[th(0.75)] == 0
    two = cal.interleaved_rates(runs, 2, alpha=0.01)
    # One window of two rounds: 3 splits of 4 runs into 2 + 2.
    assert (two.windows, two.aa_rows, two.slowed_rows) == (1, 12, 12)
    assert two.false_alarms[th(0.1)] == 0 and two.caught[th(0.1)] == 12
    committed, chosen = cal.committed_rates(runs, alpha=0.01)
    assert len(chosen) == 3 and (committed.aa_rows, committed.slowed_rows) == (2, 4)  # 1 other run, 2 F runs


def test_an_unslowed_f_is_not_caught(tmp_path):
    runs = rounds.load(calibration_folder(tmp_path, slowed_ms=20.0)).runs
    assert cal.interleaved_rates(runs, 1, alpha=0.01).caught[th(0.1)] == 0


def test_an_incomplete_round_is_skipped(tmp_path):
    calibration_folder(tmp_path, n_rounds=3)
    shutil.rmtree(tmp_path / "r001-b")  # an interrupted calibration leaves a round without its B run
    loaded = rounds.load(tmp_path)
    assert loaded.runs.rounds == 2 and loaded.skipped == 1


def test_runs_that_do_not_say_what_they_are_are_refused(tmp_path):
    calibration_folder(tmp_path, n_rounds=1)
    record_path = tmp_path / "r000-f" / "jobs" / "torch-lstm-s0.json"
    record = json.loads(record_path.read_text())
    del record["runtime"][inject.RECORD_KEY]
    record_path.write_text(json.dumps(record))
    with pytest.raises(Exception, match="should be slowed"):
        rounds.load(tmp_path)


# -- the recommendation as pure functions --------------------------------------------------------------


def synthetic_runs(n_rounds: int, run_spread: float, seed: int = 0, slowdown: float = 0.25) -> cal.CalibrationRuns:
    """Runs of 100 steps with 5% step noise; each run's speed also differs from the next by up to
    ``run_spread`` (between-process noise, which no statistic within a run can see)."""
    rng = np.random.default_rng(seed)

    def run(factor: float) -> cal.RunSteps:
        level = 1 + rng.uniform(0, run_spread)
        return {("torch", "lstm"): [stats.job_steps(0.02 * factor * level * rng.lognormal(0, 0.05, 100))]}

    same = tuple(run(1.0) for _ in range(2 * n_rounds))
    return cal.CalibrationRuns(same, tuple(run(1 + slowdown) for _ in range(n_rounds)), slowdown)


def test_a_quiet_machine_needs_one_run_a_side():
    runs = synthetic_runs(12, run_spread=0.0)
    per_k = [cal.interleaved_rates(runs, k, 0.01) for k in (1, 2, 3)]
    committed, _ = cal.committed_rates(runs, 0.01)
    rec = cal.recommend(per_k, committed, runs, 0.01, 0.95, 0.01)
    assert rec.rounds == 1 and 0.05 <= rec.max_slowdown < 0.25
    assert rec.interleaved.false_alarm_rate(th(rec.max_slowdown)) <= 0.01
    assert rec.interleaved.power(th(rec.max_slowdown)) >= 0.95


def test_a_noisy_machine_needs_more_runs_or_a_larger_threshold():
    quiet = synthetic_runs(12, run_spread=0.0)
    noisy = synthetic_runs(12, run_spread=0.4)
    q1, n1 = (cal.interleaved_rates(r, 1, 0.01) for r in (quiet, noisy))
    assert n1.aa_ratio_max > q1.aa_ratio_max + 0.1  # between-process noise shows in the identical-code ratios
    assert n1.quiet_from(0.01) > q1.quiet_from(0.01)  # so identical code stays quiet only at larger thresholds
    committed, _ = cal.committed_rates(noisy, 0.01)
    rec = cal.recommend([n1], committed, noisy, 0.01, 0.95, 0.01)
    assert rec.rounds is None and "no number of rounds up to 1" in rec.why
    assert rec.committed_max_slowdown is not None
    assert 1 + rec.committed_max_slowdown >= cal.COMMITTED_MARGIN * committed.aa_ratio_max


def rates(false_alarms: list[int], caught: list[int], rounds_: int = 1, ratio: float = 1.1) -> cal.Rates:
    pad = len(cal.THRESHOLDS) - len(false_alarms)
    return cal.Rates(
        "interleaved", rounds_, 5, 100, 100, tuple(false_alarms + [0] * pad), tuple(caught + [0] * pad), ratio
    )


def test_recommend_takes_the_fewest_rounds_and_the_middle_of_the_thresholds_that_work():
    # Thresholds 0.02 .. 0.3: 1 round a side never meets both; 2 rounds is quiet from 0.05 and catches to 0.2.
    one = rates([50, 20, 5, 3, 2, 2, 2, 1], [100, 100, 100, 100, 100, 90, 80, 50])
    two = rates([20, 5, 1, 0, 0, 0, 0, 0], [100, 100, 100, 100, 100, 99, 96, 50, 10], rounds_=2)
    runs = synthetic_runs(2, 0.0)
    rec = cal.recommend([two, one], rates([], [], ratio=1.81), runs, 0.01, 0.95, 0.01)
    assert rec.rounds == 2 and (two.quiet_from(0.01), two.powerful_to(0.95)) == (th(0.05), th(0.15))
    assert rec.max_slowdown == 0.1  # log-midpoint of 1.05 and 1.15 is 1.099
    # A committed baseline whose identical-code runs differ by up to 1.81x: 1.25 x 1.81 = 2.26 -> 1.5 (2.5x).
    assert rec.committed_max_slowdown == 1.5


def test_accuracy_threshold_widens_only_for_a_machine_that_is_not_deterministic():
    base = synthetic_runs(2, 0.0)
    assert cal.accuracy_threshold(base, 0.01) == 0.01
    shaky = cal.CalibrationRuns(base.same, base.slowed, 0.25, accuracy_spread=0.012)
    assert cal.accuracy_threshold(shaky, 0.01) == 0.025  # twice 0.012, up to half a point


# -- the command -------------------------------------------------------------------------------------------


def bench(*args: str):
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def assert_refused(result, *words: str) -> None:
    code, out, err = result
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: "), out + err
    for word in words:
        assert word in err


def test_analyse_only_prints_a_dry_run_and_writes_every_file_atomically(tmp_path):
    folder = calibration_folder(tmp_path / "runs", n_rounds=4)
    code, out, err = bench("check", "calibrate", "--runs", str(folder), "--analyse-only", "--smoke", "/nonexistent")
    assert code == 0, out + err
    assert "recommendation (false alarms <= 1.0%, power >= 95% at a 50% slowdown):" in out
    assert "dry run: nothing written" in out and "analysing: 2 run(s) a side" in err
    target = tmp_path / "baselines"
    target.mkdir()
    (target / "ci-rounds").write_text("6\n")
    code, out, err = bench("check", "calibrate", "--runs", str(folder), "--analyse-only", "--write", str(target))
    assert code == 0, out + err
    assert sorted(p.name for p in target.iterdir()) == sorted(cal.ARGS_FILES)  # no temporary file left
    rounds_a_side = int((target / "ci-rounds").read_text())
    assert rounds_a_side == 1 and "interleaved rounds (the workflow example): 1 run a side" in out  # a quiet "machine"
    assert (target / "ci-thresholds.args").read_text().endswith("--alpha 0.01 --normalize never\n")
    interleaved = (target / "ci-interleaved.args").read_text().split()
    assert interleaved[0] == "--max-slowdown" and float(interleaved[1]) in cal.THRESHOLDS
    baseline = json.loads((target / "ci-smoke.json").read_text())
    assert baseline["kind"] == "rnn-bench/baseline" and len(baseline["source"]["paths"]) == 3
    assert (target / "ci-smoke.args").read_text() == SMOKE + "\n"  # the spec the thresholds were measured on


def test_nothing_is_written_without_a_full_recommendation(tmp_path):
    folder = calibration_folder(tmp_path / "runs", n_rounds=2, slowed_ms=20.0)  # nothing to catch
    target = tmp_path / "baselines"
    target.mkdir()
    (target / "ci-rounds").write_text("6\n")
    code, out, err = bench("check", "calibrate", "--runs", str(folder), "--analyse-only", "--write", str(target))
    errors = [line for line in err.splitlines() if line.startswith("error: ")]  # the rest is progress
    assert code == 2 and len(errors) == 1 and errors[0].endswith("nothing written") and "Traceback" not in err
    assert [p.name for p in target.iterdir()] == ["ci-rounds"] and (target / "ci-rounds").read_text() == "6\n"


def test_bad_input_is_one_line(tmp_path):
    assert_refused(bench("check", "calibrate", "--smoke", str(tmp_path / "none.args")), "cannot read")
    own = tmp_path / "own.args"
    own.write_text(SMOKE + " --results elsewhere\n")
    assert_refused(bench("check", "calibrate", "--smoke", str(own)), "sets --results")
    assert_refused(bench("check", "calibrate", "--analyse-only"), "give its folder with --runs")
    assert_refused(bench("check", "calibrate", "--runs", str(tmp_path), "--analyse-only"), "no complete calibration")
    smoke = tmp_path / "smoke.args"
    smoke.write_text(SMOKE + "\n")
    rounds.prepare(tmp_path / "other", rounds.Plan(("--epochs", "1"), 0.25))
    refused = bench("check", "calibrate", "--smoke", str(smoke), "--runs", str(tmp_path / "other"))
    assert_refused(refused, "holds a calibration with other options")
    code, _, err = bench("check", "--max-slowdown", "0.2", "calibrate", "--analyse-only")
    assert code == 2 and "options of bench check itself" in err


@pytest.mark.slow
def test_a_real_tiny_calibration(tmp_path, test_backends):
    """Two rounds of real bench runs of the framework-free test backend, slowed for real by the worker."""
    smoke = tmp_path / "smoke.args"
    smoke.write_text(
        "--backends numpy-fake --cells lstm --data synthetic:train=640,test=64,seed=0 --maxlen 16 --vocab-size 60 "
        "--embed-dim 4 --units 4 --batch-size 16 --epochs 2 --threads 1\n"
    )
    runs = tmp_path / "runs"
    code, out, err = bench("check", "calibrate", "--rounds", "2", "--smoke", str(smoke), "--runs", str(runs))
    assert code == 0, out + err
    assert "round 1 of 2: A (same code) done in" in err and "round 2 of 2: F (slowed) done in" in err
    assert "6 of 6 runs, ETA 00:00" in err and "recommendation" in out
    slowed = json.loads((runs / "r001-f" / "jobs" / "numpy-fake-lstm-s0.json").read_text())
    same = json.loads((runs / "r001-b" / "jobs" / "numpy-fake-lstm-s0.json").read_text())
    assert slowed["runtime"][inject.RECORD_KEY]["fraction"] == 0.25 and inject.RECORD_KEY not in same["runtime"]
    # Again with the same folder: nothing left to run.
    code, out, err = bench("check", "calibrate", "--rounds", "2", "--smoke", str(smoke), "--runs", str(runs))
    assert code == 0 and "6 of 6 runs already in" in err and "done in" not in err
    assert not math.isnan(rounds.load(runs).runs.slowdown)


def test_the_committed_ci_files_are_what_calibrate_writes():
    """results/baselines holds the files CI reads, in the form bench check calibrate --write gives them."""
    from harness.cli.check_cmd import check

    baselines = Path(__file__).resolve().parent.parent / "results" / "baselines"
    assert {p.name for p in baselines.iterdir()} >= set(cal.ARGS_FILES)
    assert int((baselines / "ci-rounds").read_text()) >= 1
    for name in ("ci-thresholds.args", "ci-interleaved.args"):
        args = (baselines / name).read_text().split()
        params = check.make_context("check", [*args, "--baseline", "x"]).params  # parses as bench check options
        assert params["max_slowdown"] > 0 and params["alpha"] == 0.01
    texts = cal.args_texts(
        cal.Recommendation(0.01, 0.95, 0.25, 0.01, 6, 0.1, None, 1.5, rates([], []), 0.01, 0.02, 0.0, "test"),
        (baselines / "ci-smoke.args").read_text().split(),
    )
    for name, text in texts.items():
        assert text == (baselines / name).read_text(), name  # the defaults, written as calibrate writes them


TINY_SMOKE = (
    "--backends numpy-fake --cells lstm --data synthetic:train=640,test=64,seed=0 --maxlen 16 --vocab-size 60 "
    "--embed-dim 4 --units 4 --batch-size 16 --epochs 2 --threads 1\n"
)


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads the process table from /proc")
def test_sigterm_stops_the_running_bench_run_and_keeps_the_finished_runs(tmp_path, test_backends):
    import os
    import signal
    import subprocess
    import sys
    import time

    smoke, runs = tmp_path / "smoke.args", tmp_path / "runs"
    smoke.write_text(TINY_SMOKE)
    command = [sys.executable, "-m", "harness.cli", "check", "calibrate", "--rounds", "2"]
    proc = subprocess.Popen(
        [*command, "--smoke", str(smoke), "--runs", str(runs)], stderr=subprocess.PIPE, text=True, env=os.environ
    )
    for line in proc.stderr:  # the first run is done; the second is running
        if "round 1 of 2: A (same code) done" in line:
            break
    time.sleep(1.0)
    assert processes_mentioning(str(runs)), "the second bench run should be running now"
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 130 and f"continue with --runs {runs}" in rest and "Traceback" not in rest
    assert processes_mentioning(str(runs)) == []  # no bench run, no worker left behind
    assert rounds._state(runs / "r000-a") == "done" and rounds._state(runs / "r000-b") != "done"
    # Given the folder again, the calibration finishes the interrupted run and the rest.
    again = subprocess.run([*command, "--smoke", str(smoke), "--runs", str(runs)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "1 of 6 runs already in" in again.stderr and "round 1 of 2: B (same code) done" in again.stderr
