"""Measure `bench check`'s error rates on real runs (issue 6's proof; a script, not a timed test).

1. False alarms: N+1 runs of identical code; run i is the baseline of run i+1 (N A/A comparisons).
   Every regression reported is a false alarm. Also prints the A/A step-time ratios, which is what the
   CI thresholds are chosen from.
2. Power: N runs where the torch backend is replaced, through the real entry-point group, by one that is
   `--slowdown` slower per step (tests/plugins_faulty); each is checked against an A/A run. Each trial
   should report a torch regression (and no keras one).
3. Accuracy: runs whose torch learning rate is 10x off (same spec, same hash) must be caught.

Every run is a real `bench run` in fresh processes on small synthetic data, so the whole script takes
10-20 minutes on 2 cores. Run it on an otherwise idle machine:

    .venv/bin/python scripts/prove_check.py --trials 20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAULTY = ROOT / "tests" / "plugins_faulty"
SMOKE_ARGS = ROOT / "results" / "baselines" / "ci-smoke.args"
BENCH = [sys.executable, "-m", "harness.cli"]


def bench(args: list[str], env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*BENCH, *args], cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if check and proc.returncode not in (0, 1):
        sys.exit(f"bench {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return proc


def run(results: Path, name: str, common: list[str], env: dict[str, str] | None = None) -> Path:
    proc = bench(["run", *common, "--results", str(results), "--name", name, "--quiet"], env)
    if proc.returncode != 0:
        sys.exit(f"run {name} failed: {proc.stderr.strip()[-800:]}")
    return results / name


def check(baseline: Path, candidate: Path, thresholds: list[str]) -> dict:
    proc = bench(["check", "--baseline", str(baseline), "--candidate", str(candidate), "--format", "json", *thresholds])
    report = json.loads(proc.stdout)
    report["exit_code"] = proc.returncode
    return report


def verdicts(report: dict, metric: str) -> dict[str, dict]:
    return {f"{r['backend']}-{r['cell']}": r for r in report["rows"] if r["metric"] == metric}


def fault_trials(results: Path, baselines: list[Path], trials: int, label: str, common: list[str],
                 thresholds: list[str], metric: str, env: dict[str, str]) -> int:
    """Run ``trials`` candidates with the faulty torch backend, each checked against an A/A run; returns
    how many reported the torch regression (exit 1). Keras is unchanged, so a keras regression is a false alarm."""
    caught = 0
    for i in range(trials):
        rep = check(baselines[i], run(results, f"{label}-{i:02d}", common, env), thresholds)
        rows = verdicts(rep, metric)
        torch, keras = rows["torch-lstm"], rows["keras-lstm"]
        caught += torch["verdict"] == "regression" and rep["exit_code"] == 1
        shown = f"ratio {1 + torch['change']:.3f}" if metric == "step time" else f"{torch['baseline']:.4f} -> {torch['candidate']:.4f}"
        alarm = "  (keras false alarm!)" if keras["verdict"] == "regression" else ""
        print(f"  {label} trial {i}: torch {metric} {shown}: {torch['verdict']}{alarm}")
    return caught


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--slowdown", type=float, default=0.25)
    ap.add_argument("--lr-scale", type=float, default=0.1)
    ap.add_argument("--acc-trials", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="keep the runs in this folder")
    ap.add_argument("--check-args", default="", help="extra thresholds for bench check, e.g. '--max-slowdown 0.15'")
    args = ap.parse_args()

    results = args.keep or Path(tempfile.mkdtemp(prefix="prove-check-"))
    # The same small matrix CI's smoke check runs, so the A/A figures set CI's thresholds.
    common = SMOKE_ARGS.read_text().split()
    thresholds = args.check_args.split()
    faulty_env = {"PYTHONPATH": os.pathsep.join([str(FAULTY), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    started = time.time()

    aa_runs = [run(results, f"aa-{i:02d}", common) for i in range(args.trials + 1)]
    false_alarms, ratios = 0, []
    for i in range(args.trials):
        rep = check(aa_runs[i], aa_runs[i + 1], thresholds)
        false_alarms += rep["exit_code"] == 1
        for key, row in verdicts(rep, "step time").items():
            ratios.append((key, 1 + row["change"]))
            if row["verdict"] != "no significant change":
                print(f"  A/A {i}->{i + 1} {key}: {row['verdict']} ({row['detail']})")
    print(f"A/A: {args.trials} comparisons, {false_alarms} reported a regression (exit 1)")
    for key in sorted({k for k, _ in ratios}):
        values = sorted(r for k, r in ratios if k == key)
        print(f"  {key}: step-time ratio candidate/baseline min {values[0]:.3f} median {values[len(values) // 2]:.3f} max {values[-1]:.3f}")

    caught = fault_trials(results, aa_runs, args.trials, "slow", common, thresholds, "step time",
                          {**faulty_env, "RNN_BENCH_FAULT_SLOWDOWN": str(args.slowdown)})
    print(f"power: {caught}/{args.trials} trials with a {args.slowdown:.0%} torch slowdown reported as a regression")
    acc_caught = fault_trials(results, aa_runs, args.acc_trials, "lr", common, thresholds, "test acc",
                              {**faulty_env, "RNN_BENCH_FAULT_LR_SCALE": str(args.lr_scale)})
    print(f"accuracy: {acc_caught}/{args.acc_trials} trials with the torch learning rate x{args.lr_scale} caught")
    print(f"total {time.time() - started:.0f} s; runs in {results}")
    if not args.keep:
        shutil.rmtree(results, ignore_errors=True)


if __name__ == "__main__":
    main()
