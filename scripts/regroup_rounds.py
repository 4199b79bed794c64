"""How many interleaved rounds a side does `bench check` need? Re-groups the runs kept by prove_check.

    .venv/bin/python scripts/regroup_rounds.py /tmp/prove/runs [--max-rounds 5]

No new runs: the identical-code runs (A and B) of ``scripts/prove_check.py --keep DIR``, in the order they
started, are dealt alternately into two sides of k runs each (non-overlapping windows of 2k runs), and the A
runs are set against the slowed F runs the same way (windows of k trials); every window is checked with
``harness.stats.speed_verdict`` at the default thresholds. Windows overlap neither each other nor across k
values' counts, but all come from one session of one machine: read the rates as indicative.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from harness import stats  # noqa: E402
from harness.check.samples import load_run  # noqa: E402
from harness.records import run_dirs  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, help="the folder prove_check.py --keep wrote")
    ap.add_argument("--max-rounds", type=int, default=5)
    args = ap.parse_args()
    names = [p.name for p in run_dirs(args.runs) if p.name.startswith("t")]  # trials only, in start order
    same = [n for n in names if not n.endswith("-f")]
    a_runs, slow = [n for n in names if n.endswith("-a")], [n for n in names if n.endswith("-f")]
    cache: dict[str, list] = {}

    def side(runs: list[str], backend: str) -> list:
        for n in runs:
            cache.setdefault(n, load_run(args.runs / n).jobs)
        return [j.step_s for n in runs for j in cache[n] if j.backend == backend and j.ok]

    backends = sorted({j.backend for j in load_run(args.runs / names[0]).jobs})
    for backend in backends:
        medians = [float(np.median(s)) * 1e3 for n in same for s in side([n], backend)]
        print(
            f"{backend}: per-process median step time of the {len(medians)} identical-code runs "
            f"{min(medians):.1f}-{max(medians):.1f} ms"
        )
    for k in range(1, args.max_rounds + 1):
        alarms, ratios = 0, []
        for i in range(0, len(same) - 2 * k + 1, 2 * k):
            window = same[i : i + 2 * k]
            for backend in backends:
                v = stats.speed_verdict(side(window[0::2], backend), side(window[1::2], backend))
                alarms += v.change is stats.Change.REGRESSION
                ratios.append(v.ratio)
        caught, slow_ratios = 0, []
        for i in range(0, len(slow) - k + 1, k):
            v = stats.speed_verdict(side(a_runs[i : i + k], "torch"), side(slow[i : i + k], "torch"))
            caught += v.change is stats.Change.REGRESSION
            slow_ratios.append(v.ratio)
        print(
            f"{k} round(s) a side: A/A {alarms} of {len(ratios)} rows a regression, ratios {min(ratios):.3f}-"
            f"{max(ratios):.3f} | slowed torch caught {caught} of {len(slow_ratios)}, ratios "
            f"{min(slow_ratios):.3f}-{max(slow_ratios):.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
