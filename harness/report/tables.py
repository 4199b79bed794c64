"""Summary tables: pure functions of the jobs frame (``load.Loaded.jobs``), no I/O.

One row per run x backend x cell x mode. With several seeds each metric is the mean over seeds, and
``seed_stats`` holds the spread (sample sd) and a Student-t 95% confidence interval per metric
(``harness.stats.mean_ci``); per-step statistics are computed per job first, then averaged over seeds, so
every metric is "mean over seeds of a per-job number". Time metrics (``SPEED_METRICS``) average only the
jobs that had their machine to themselves, on the kind of host most of the row's jobs ran on
(``hosts.speed_view``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from harness import stats
from harness.spec import CELLS

from . import hosts

#: Metrics that measure the machine as much as the engine: a job that shared its machine does not count.
SPEED_METRICS: tuple[str, ...] = (
    "step_ms_median",
    "step_ms_p10",
    "step_ms_p90",
    "samples_per_s",
    "train_s",
    "time_to_acc_s",
    "first_step_s",
)
#: summary.csv's columns, in the order the first report named them: outcome, time, resources (a ``run``
#: column is prepended only when several runs are combined, since rows would be ambiguous without it).
SUMMARY_METRICS: tuple[str, ...] = (
    "test_acc",
    "test_loss",
    "best_val_acc",
    "best_epoch",
    "final_val_acc",
    *SPEED_METRICS,
    "peak_rss_mb",
    "peak_device_mb",
    "params",
)
SUMMARY_COLUMNS: tuple[str, ...] = ("backend", "cell", "mode", "seeds", *SUMMARY_METRICS)
#: Per-seed statistics: the summary's metrics, and epochs to the target accuracy (valid on a shared machine).
SEED_METRICS: tuple[str, ...] = (*SUMMARY_METRICS, "epochs_to_acc")
GROUP: list[str] = ["run", "backend", "cell", "mode"]
#: Metrics whose absence is information, not missing data: a seed that never reached the target makes the
#: configuration's time-to-accuracy undefined (averaging only the seeds that got there would flatter it).
ALL_SEEDS_REQUIRED = ("time_to_acc_s",)
#: Metrics that are integers per job; kept integral in the CSV when every seed agrees.
INTEGER_METRICS = ("best_epoch", "params")
REFERENCE_BACKEND = "keras"
CONFIDENCE = 0.95


def seed_stats(jobs: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Long table: one row per group x metric with seeds (jobs in the group), eligible (jobs that count for
    the metric: for time metrics, ``hosts.speed_view``'s), n (eligible seeds with a value), mean, sd (nan
    with one seed) and the confidence interval (nan with one seed)."""
    rows = []
    for key, group in jobs.groupby(GROUP, sort=False):
        timed = hosts.speed_view(group, GROUP)
        for metric in SEED_METRICS:
            counted = timed[metric] if metric in SPEED_METRICS else group[metric]
            ci = stats.mean_ci(counted.astype(float).to_numpy(), confidence)
            rows.append(
                {
                    **dict(zip(GROUP, key)),
                    "metric": metric,
                    "seeds": len(group),
                    "eligible": len(counted),
                    "n": ci.n,
                    "mean": ci.mean,
                    "sd": ci.std,
                    "ci_low": ci.low,
                    "ci_high": ci.high,
                }
            )
    frame = pd.DataFrame(rows, columns=[*GROUP, "metric", "seeds", "eligible", "n", "mean", "sd", "ci_low", "ci_high"])
    return sort_rows(frame, run_order(jobs), metrics=SEED_METRICS)


def summary(seed_table: pd.DataFrame, with_run: bool) -> pd.DataFrame:
    """summary.csv: the mean over seeds of every metric, one row per backend x cell x mode (x run)."""
    keys = [*GROUP, "seeds"]
    values = seed_table["mean"].where(
        ~seed_table["metric"].isin(ALL_SEEDS_REQUIRED) | (seed_table["n"] == seed_table["eligible"])
    )
    wide = (
        seed_table.assign(value=values)
        .pivot(index=keys, columns="metric", values="value")
        .reset_index()
        .reindex(columns=[*keys, *SUMMARY_METRICS])
    )
    for metric in INTEGER_METRICS:
        wide[metric] = _integral(wide[metric])
    wide = sort_rows(wide, list(dict.fromkeys(seed_table["run"])))
    columns = (["run"] if with_run else []) + list(SUMMARY_COLUMNS)
    return wide[columns].reset_index(drop=True)


def job_table(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per-job metrics (one row per seed): the tidy table the summary averages."""
    columns = [
        "run",
        "job_id",
        "backend",
        "cell",
        "seed",
        "mode",
        *SUMMARY_METRICS,
        "timed_steps",
        "epochs_done",
        "target_acc",
        "overhead_share",
        "busy",
        "other_cpu_max",
        "epochs_to_acc",
        "host",
        "shared_machine",
    ]
    return sort_rows(jobs[columns], run_order(jobs)).reset_index(drop=True)


# -- ordering shared by every table and chart ------------------------------------------------------


def run_order(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(frame["run"])) if "run" in frame and len(frame) else []


def backend_order(backends: Sequence[str]) -> list[str]:
    """The reference backend first (ratios are "other / keras"), the others alphabetically."""
    unique = sorted(set(backends))
    return sorted(unique, key=lambda b: (b != REFERENCE_BACKEND, b))


def cell_order(cells: Sequence[str]) -> list[str]:
    unique = set(cells)
    return [c for c in CELLS if c in unique] + sorted(unique - set(CELLS))


def sort_rows(
    frame: pd.DataFrame, runs: Sequence[str], metrics: Sequence[str] | None = SUMMARY_METRICS
) -> pd.DataFrame:
    """Runs in the order given, then cells in the spec's order, then backends (reference first), then seed,
    then ``metrics`` order (None: rows with equal keys keep their order, the sort is stable)."""
    if frame.empty:
        return frame
    orders = {
        "run": lambda: list(runs),
        "cell": lambda: cell_order(frame["cell"]),
        "backend": lambda: backend_order(frame["backend"]),
    }
    keys = {col: frame[col].map({v: i for i, v in enumerate(order())}) for col, order in orders.items() if col in frame}
    extra = [c for c in ("mode", "seed", "metric") if c in frame]
    sort_frame = pd.DataFrame(keys).assign(**{c: frame[c] for c in extra if c != "metric"})
    if "metric" in frame and metrics is not None:
        sort_frame["metric"] = frame["metric"].map({m: i for i, m in enumerate(metrics)})
    order = sort_frame.sort_values(list(sort_frame.columns), kind="stable").index
    return frame.loc[order]


def _integral(column: pd.Series) -> pd.Series:
    values = column.astype(float)
    finite = values.dropna()
    if len(finite) and all(math.isclose(v, round(v)) for v in finite):
        return values.round().astype("Int64")
    return values
