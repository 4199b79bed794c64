"""Measure `bench check`'s error rates on real runs (issue 6's proof; a script, not a timed test).

Each trial runs the CI smoke matrix (results/baselines/ci-smoke.args) in ``--rounds`` interleaved rounds of
three runs: A (baseline), B (the same code again) and F (the torch backend replaced, through the real
entry-point group, by one that is ``--slowdown`` slower per step: tests/plugins_faulty). Interleaving
(A B F A B F ...) is the set-up the README recommends (baseline and candidate in one CI job, alternating),
so a slow episode of the shared machine hits every side. Then

1. false alarms: ``bench check --baseline A... --candidate B...`` at the default thresholds. Every
   regression reported is a false alarm; the A/A step-time ratios are printed (CI's thresholds for a
   committed, non-interleaved baseline come from the one-run ratios, A round 1 vs B round 1, printed too);
2. power: ``bench check --baseline A... --candidate F...``: each trial should report the torch slowdown
   (and no keras one);
3. accuracy: ``--acc-trials`` runs whose torch learning rate is 10x off (same spec, same hash), each
   checked against one A run, must be caught.

Every run is a real `bench run` in fresh processes on small synthetic data (~22 s a run on 2 cores), so a
trial of 4 rounds takes about 4.5 minutes and 20 trials about 90. Run it on an otherwise idle machine:

    .venv/bin/python scripts/prove_check.py --trials 20 --rounds 4
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


def verdicts(report: dict, metric: str) -> dict[str, dict]:
    return {f"{r['backend']}-{r['cell']}": r for r in report["rows"] if r["metric"] == metric}


def pooled_check(baselines: list[Path], candidates: list[Path], thresholds: list[str]) -> dict:
    args = [x for p in baselines for x in ("--baseline", str(p))] + [
        x for p in candidates for x in ("--candidate", str(p))
    ]
    proc = bench(["check", *args, "--format", "json", *thresholds])
    report = json.loads(proc.stdout)
    report["exit_code"] = proc.returncode
    return report


def describe(report: dict, metric: str) -> str:
    rows = verdicts(report, metric)
    parts = []
    for key in sorted(rows):
        r = rows[key]
        shown = (
            f"{1 + r['change']:.3f}"
            if metric == "step time" and r["change"] is not None
            else f"{r['baseline']:.4f}->{r['candidate']:.4f}"
            if r["baseline"] is not None
            else "-"
        )
        parts.append(f"{key} {shown} {r['verdict']}")
    return "; ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2, help="interleaved runs a side in each trial (default 2)")
    ap.add_argument("--slowdown", type=float, default=0.25)
    ap.add_argument("--lr-scale", type=float, default=0.1)
    ap.add_argument("--acc-trials", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="keep the runs in this folder")
    ap.add_argument("--check-args", default="", help="extra thresholds for bench check, e.g. '--max-slowdown 0.15'")
    args = ap.parse_args()

    results = args.keep or Path(tempfile.mkdtemp(prefix="prove-check-"))
    common = SMOKE_ARGS.read_text().split()
    thresholds = args.check_args.split()
    faulty_env = {"PYTHONPATH": os.pathsep.join([str(FAULTY), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    slow_env = {**faulty_env, "RNN_BENCH_FAULT_SLOWDOWN": str(args.slowdown)}
    started = time.time()
    print(
        f"prove_check: {args.trials} trials x {args.rounds} rounds of A, B, F runs ({' '.join(common)}); "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )

    false_alarms = improvements = caught = keras_alarms = 0
    ratios: dict[str, list[float]] = {}
    single: dict[str, list[float]] = {}
    first_a: list[Path] = []
    for t in range(args.trials):
        a, b, f = [], [], []
        for r in range(args.rounds):
            a.append(run(results, f"t{t:02d}-r{r}-a", common))
            b.append(run(results, f"t{t:02d}-r{r}-b", common))
            f.append(run(results, f"t{t:02d}-r{r}-f", common, slow_env))
        first_a.append(a[0])
        aa = pooled_check(a, b, thresholds)
        false_alarms += aa["exit_code"] == 1
        for key, row in verdicts(aa, "step time").items():
            ratios.setdefault(key, []).append(1 + row["change"])
            improvements += row["verdict"] == "improvement"
        for key, row in verdicts(pooled_check(a[:1], b[:1], thresholds), "step time").items():
            single.setdefault(key, []).append(1 + row["change"])
        power = pooled_check(a, f, thresholds)
        rows = verdicts(power, "step time")
        caught += rows["torch-lstm"]["verdict"] == "regression" and power["exit_code"] == 1
        keras_alarms += rows["keras-lstm"]["verdict"] == "regression"
        print(f"  trial {t:2d}  A/A: {describe(aa, 'step time')}  |  A/F: {describe(power, 'step time')}", flush=True)

    print(
        f"A/A: {args.trials} comparisons ({args.rounds} interleaved runs a side), {false_alarms} reported a "
        f"regression (exit 1), {improvements} step-time rows an improvement"
    )
    for label, table in (("interleaved", ratios), ("one run a side", single)):
        for key in sorted(table):
            v = sorted(table[key])
            print(f"  {label} {key}: A/A step-time ratio min {v[0]:.3f} median {v[len(v) // 2]:.3f} max {v[-1]:.3f}")
    print(
        f"power: {caught}/{args.trials} trials with a {args.slowdown:.0%} torch slowdown reported as a regression; "
        f"{keras_alarms} keras false alarms in those checks"
    )

    acc_caught = 0
    for i in range(args.acc_trials):
        lr = run(results, f"lr-{i:02d}", common, {**faulty_env, "RNN_BENCH_FAULT_LR_SCALE": str(args.lr_scale)})
        rep = pooled_check([first_a[i % len(first_a)]], [lr], thresholds)
        acc_caught += verdicts(rep, "test acc")["torch-lstm"]["verdict"] == "regression" and rep["exit_code"] == 1
        print(f"  lr trial {i}: {describe(rep, 'test acc')}", flush=True)
    print(f"accuracy: {acc_caught}/{args.acc_trials} trials with the torch learning rate x{args.lr_scale} caught")
    print(f"total {time.time() - started:.0f} s; load average now {os.getloadavg()[0]:.2f}; runs in {results}")
    if not args.keep:
        shutil.rmtree(results, ignore_errors=True)


if __name__ == "__main__":
    main()
