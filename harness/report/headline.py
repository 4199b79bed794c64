"""The one line a person wants first: per cell, the fastest backend and the spread of accuracy.

Speed follows the head-to-head's rules: only jobs that had their machine to themselves, on one kind of
host (the most common one in the cell), and the fastest is tested against the runner-up with the same
block test, so "fastest" is never claimed where the noise could have decided it. Accuracy is the mean test
accuracy over seeds per backend (best validation accuracy where no test was run).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from . import head_to_head, hosts
from .formatting import significant


def headline(jobs: pd.DataFrame, steps: pd.DataFrame) -> str:
    """'lstm: fastest keras 19.9 ms/step (torch 2.00× slower than keras); test acc 0.720 (torch) to 0.820
    (keras), spread 10.0 pts · gru: ...'. Cells in the report's order; with several runs or modes each
    part names its run and mode."""
    timed = head_to_head.timed_steps_by_job(steps)
    runs, modes = jobs["run"].nunique() > 1, jobs["mode"].nunique() > 1
    parts = []
    for (run, cell, mode), group in jobs.groupby(["run", "cell", "mode"], sort=False):
        label = cell + (f" {mode}" if modes else "") + (f" [{run}]" if runs else "")
        parts.append(f"{label}: {_fastest(group, timed)}; {_spread(group)}")
    seeds = int(jobs.groupby(["run", "backend", "cell", "mode"])["seed"].nunique().max())
    return " · ".join(parts) + (f" (means over {seeds} seeds)" if seeds > 1 else "")


def _fastest(group: pd.DataFrame, timed: Mapping[tuple[str, str], np.ndarray]) -> str:
    alone = hosts.speed_view(group)
    if alone.empty:
        return "speed not compared (every job shared its machine)"
    kinds = hosts.speed_jobs(group)["host_kind"].nunique()
    on = f" on {alone['host_kind'].iloc[0]}" if kinds > 1 else ""
    medians = alone.groupby("backend", sort=False)["step_ms_median"].mean().dropna().sort_values(kind="stable")
    if medians.empty:
        return "no timed steps"
    fastest = str(medians.index[0])
    text = f"fastest {fastest} {significant(float(medians.iloc[0]))} ms/step{on}"
    if len(medians) == 1:
        return text + " (the only backend timed)"
    second = str(medians.index[1])

    def series(backend: str) -> list[np.ndarray]:
        jobs = alone[alone["backend"] == backend]
        return [timed.get((r, j), np.empty(0)) for r, j in zip(jobs["run"], jobs["job_id"])]

    outcome = head_to_head.speed_outcome(series(fastest), series(second), (fastest, second))
    if outcome.verdict == head_to_head.NO_CLEAR:
        return text + f", but no clear difference to {second}"
    if outcome.test:
        return text + f" ({outcome.verdict})"
    return text + f" ({second} next; {outcome.verdict})"


def _spread(group: pd.DataFrame) -> str:
    metric, name = ("test_acc", "test acc") if group["test_acc"].notna().any() else ("best_val_acc", "best val acc")
    means = group.groupby("backend", sort=False)[metric].mean().dropna().sort_values(kind="stable")
    if means.empty:
        return f"no {name}"
    low, high = means.iloc[0], means.iloc[-1]
    if len(means) == 1:
        return f"{name} {low:.3f} ({means.index[0]})"
    if f"{low:.3f}" == f"{high:.3f}":
        return f"{name} {low:.3f} on all {len(means)} backends"
    return f"{name} {low:.3f} ({means.index[0]}) to {high:.3f} ({means.index[-1]}), spread {(high - low) * 100:.1f} pts"
