"""Look inside the runs that prove_check.py kept: each run's speed, and how often the machine ran slow.

    .venv/bin/python scripts/inspect_proof.py /tmp/prove4/runs [--trial 1] [--slow 1.3]

Without ``--trial``: per backend, how many identical-code jobs (A and B runs) had a median step time above
``--slow`` times the folder's lowest job median: the share of jobs that ran mostly at the machine's slow
level. With ``--trial N``: every run of that trial in start order, with each job's fastest block, median
and fastest calibration (ms), to see why a comparison came out as it did.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from harness import stats  # noqa: E402
from harness.check.samples import load_run  # noqa: E402
from harness.records import run_dirs  # noqa: E402


def runs_in_order(folder: Path, prefix: str = "t") -> list[Path]:
    return [p for p in run_dirs(folder) if p.name.startswith(prefix)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, help="the folder prove_check.py --keep wrote")
    ap.add_argument("--trial", type=int, default=None)
    ap.add_argument("--slow", type=float, default=1.3, help="a job is 'slow' above this x the lowest median")
    args = ap.parse_args()
    if args.trial is not None:
        for run in runs_in_order(args.runs, f"t{args.trial:02d}-"):
            started = json.loads((run / "manifest.json").read_text())["created_at"][11:19]
            parts = [
                f"{j.backend} fastest {stats.fastest_block([stats.split_blocks(j.step_s)]) * 1e3:.2f} "
                f"median {np.median(j.step_s) * 1e3:.2f} calibration {min(j.calibration_s) * 1e3:.1f}"
                for j in load_run(run).jobs
                if j.ok
            ]
            print(f"{run.name} {started}  " + " | ".join(parts))
        return 0
    medians: dict[str, list[float]] = {}
    for run in runs_in_order(args.runs):
        if run.name.endswith("-f"):
            continue
        for j in load_run(run).jobs:
            if j.ok:
                medians.setdefault(j.backend, []).append(float(np.median(j.step_s)))
    for backend, values in sorted(medians.items()):
        v = np.asarray(values)
        slow = int((v > args.slow * v.min()).sum())
        print(
            f"{backend}: {slow} of {v.size} identical-code jobs ran slow (median above {args.slow} x the lowest, "
            f"{v.min() * 1e3:.1f} ms); job medians {v.min() * 1e3:.1f}-{v.max() * 1e3:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
