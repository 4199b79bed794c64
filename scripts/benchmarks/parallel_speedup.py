"""``--parallel N`` against the local executor on an accuracy sweep of 1-thread jobs: the wall time of the
whole run, in interleaved rounds. Target: parallel / local <= 0.6 with ``--parallel 2`` on a 2-core machine.

    python -m scripts.benchmarks.parallel_speedup --backends torch --cells lstm,gru --seeds 0-1 --epochs 1 --rounds 3

Exit 0 when the median ratio meets the target, 1 when it does not.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from harness.executors.base import ExecutorConfig
from scripts.benchmarks.run_timing import add_matrix_options, interleaved, median, run_config, timed_run

TARGET_RATIO = 0.6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_matrix_options(parser, backends="torch", cells="lstm,gru", seeds="0-1")
    parser.add_argument("--parallel", type=int, default=2, help="jobs at once (default 2)")
    args = parser.parse_args(argv)
    executors = {
        # Both accuracy-only: the comparison is of throughput, and neither should wait for the timing lock.
        "local": ExecutorConfig(accuracy_only=True),
        "parallel": ExecutorConfig("dask", parallel=args.parallel, accuracy_only=True),
    }
    with tempfile.TemporaryDirectory(prefix="parallel-speedup-") as tmp:
        results = Path(args.results or tmp)

        def wall(side: str, r: int) -> float:
            return timed_run(run_config(args, results, f"{side}-{r + 1}", executors[side]))

        def report(r: int, walls: dict[str, float]) -> None:
            local, parallel = walls["local"], walls["parallel"]
            print(
                f"round {r + 1}: local {local:.1f} s, --parallel {args.parallel} {parallel:.1f} s, "
                f"ratio {parallel / local:.3f}",
                flush=True,
            )

        walls = interleaved(args.rounds, ("local", "parallel"), wall, report)
    ratio = median([p / lo for lo, p in zip(walls["local"], walls["parallel"])])
    print(
        f"--parallel {args.parallel} / local wall time: {ratio:.3f} (median of {args.rounds} round(s); "
        f"target <= {TARGET_RATIO})"
    )
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
