"""The Dask executor's own cost per job: scheduling, shipping the prepared data once per worker, and
bringing the record back. The same jobs run through the local executor and through a LocalCluster of one
worker process (offering ``bench=1``, as a host of a real cluster does), in interleaved rounds; the
difference in wall time per job is the executor's cost. Target: under 0.5 s per job, about 2% of a
one-epoch IMDB job.

    python -m scripts.benchmarks.dask_overhead --backends torch --cells lstm --seeds 0-3 --epochs 1 --rounds 3

Exit 0 when the median difference is under the target, 1 when it is not.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from harness.executors.base import ExecutorConfig
from scripts.benchmarks.run_timing import add_matrix_options, interleaved, job_count, median, run_config, timed_run

TARGET_S = 0.5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_matrix_options(parser, backends="torch", cells="lstm", seeds="0-3")
    args = parser.parse_args(argv)
    from distributed import LocalCluster

    with (
        tempfile.TemporaryDirectory(prefix="dask-overhead-") as tmp,
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, resources={"bench": 1}, dashboard_address=None
        ) as cluster,
    ):
        results = Path(args.results or tmp)
        executors = {"local": ExecutorConfig(), "dask": ExecutorConfig("dask", scheduler=cluster.scheduler_address)}
        jobs = job_count(run_config(args, results, "count", executors["local"]))

        def per_job(side: str, r: int) -> float:
            return timed_run(run_config(args, results, f"{side}-{r + 1}", executors[side])) / jobs

        def report(r: int, walls: dict[str, float]) -> None:
            local, dask = walls["local"], walls["dask"]
            print(
                f"round {r + 1}: local {local:.3f} s/job, dask {dask:.3f} s/job, dask - local {dask - local:+.3f} s/job",
                flush=True,
            )

        walls = interleaved(args.rounds, ("local", "dask"), per_job, report)
    cost = median([d - lo for lo, d in zip(walls["local"], walls["dask"])])
    print(
        f"Dask executor cost: {cost:+.3f} s per job (median of {args.rounds} round(s) of {jobs} job(s); "
        f"target < {TARGET_S} s)"
    )
    return 0 if cost < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
