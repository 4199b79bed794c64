"""Replay `bench check` on the runs prove_check.py kept: its error rates for the current code, no new runs.

    .venv/bin/python scripts/replay_check.py /tmp/prove4/runs2 [/tmp/prove4/runs ...] [--splits]

A new statistic can be judged on recorded runs in seconds instead of a 90-minute proof. For every complete
trial (rounds 0..R-1 of A, B and F runs) it calls the real comparison (``harness.check.compare`` at the
default thresholds, runs pooled per side as ``bench check`` pools them) on

- the trial as it ran: A vs B (false alarms: every regression row is one) and A vs F (power: the torch row
  must be a regression; a keras regression there is a false alarm);
- with ``--splits``: every split of the trial's 2R identical-code runs into two sides of R runs (each split
  once), and each such side against the trial's F runs. Splits reuse runs, so they are not independent
  trials: read the rates as a finer-grained estimate from the same hours of one machine, not as a proof.

Statistics chosen after looking at these runs are fitted to them: confirm on runs recorded afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.check.compare import Thresholds, Verdict, compare  # noqa: E402
from harness.check.samples import Side, load_run, pooled  # noqa: E402

TRIAL_RUN = re.compile(r"t(\d+)-r(\d+)-([abf])$")


def trials(folders: list[Path]) -> list[dict[str, list[Side]]]:
    """Complete trials: {"a": [round 0, 1, ...], "b": [...], "f": [...]} of loaded runs."""
    found: dict[tuple[Path, int], dict[str, dict[int, Path]]] = {}
    for folder in folders:
        for run in sorted(folder.iterdir()):
            if m := TRIAL_RUN.match(run.name):
                found.setdefault((folder, int(m[1])), {}).setdefault(m[3], {})[int(m[2])] = run
    out = []
    for key in sorted(found):
        sides = found[key]
        rounds = {r for s in "abf" for r in sides.get(s, {})}
        if all(set(sides.get(s, {})) == rounds for s in "abf"):
            out.append({s: [load_run(sides[s][r]) for r in sorted(rounds)] for s in "abf"})
    return out


def speed_rows(base: list[Side], cand: list[Side]) -> dict[str, Verdict]:
    report = compare(pooled(base), pooled(cand), Thresholds())
    return {r.backend: r.verdict for r in report.rows if r.metric == "step time"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", type=Path, nargs="+", help="folders prove_check.py --keep wrote")
    ap.add_argument("--splits", action="store_true", help="also every R-vs-R split of each trial's A and B runs")
    ap.add_argument("--slowed", default="torch", help="the backend the F runs slow down (default torch)")
    args = ap.parse_args()
    loaded = trials(args.folders)
    if not loaded:
        sys.exit("no complete trial (t<N>-r<R>-a/b/f runs) in " + ", ".join(map(str, args.folders)))
    counts: dict[str, Counter] = {"as run": Counter(), "splits": Counter()}
    for trial in loaded:
        pairs = {"as run": [(trial["a"], trial["b"])], "splits": []}
        if args.splits:
            same, k = trial["a"] + trial["b"], len(trial["a"])
            for chosen in itertools.combinations(range(2 * k), k):
                if 0 in chosen:  # each split once, not also with its sides swapped
                    pairs["splits"].append(
                        ([same[i] for i in chosen], [same[i] for i in range(2 * k) if i not in chosen])
                    )
        for label, sides in pairs.items():
            c = counts[label]
            for base, cand in sides:
                for verdict in speed_rows(base, cand).values():
                    c["aa rows"] += 1
                    c["aa alarms"] += verdict is Verdict.REGRESSION
                for side in (base, cand) if label == "splits" else (base,):
                    rows = speed_rows(side, trial["f"])
                    c["power checks"] += 1
                    c["caught"] += rows.get(args.slowed) is Verdict.REGRESSION
                    c["other alarms"] += sum(v is Verdict.REGRESSION for b, v in rows.items() if b != args.slowed)
    rounds = len(loaded[0]["a"])
    for label, c in counts.items():
        if c["aa rows"]:
            print(
                f"{label} ({len(loaded)} trials, {rounds} rounds a side): A/A {c['aa alarms']} regressions in "
                f"{c['aa rows']} step-time rows; {args.slowed} slowdown caught in {c['caught']} of "
                f"{c['power checks']}; other backends flagged in those {c['other alarms']} times"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
