"""Which jobs' step times may be compared, and what the reader is told about where the jobs ran.

Two rules, both from the jobs' ``execution`` facts (``load.execution_facts``):
- a job that shared its machine with other jobs (``shared_machine``: ``bench run --parallel``) has step
  times that measure the neighbours as much as the engine: it is left out of every speed figure (verdicts,
  speed charts, the summary's time columns). Its accuracy, loss and epochs to accuracy stay valid;
- step times compare only between jobs on the same kind of host (same CPU model and GPU): a backend-vs-
  backend comparison uses the kind of host both sides ran on most. Comparisons across runs compare
  machines on purpose and keep every kind (the banner says when the runs' machines differ).
Pure functions of the jobs frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def speed_jobs(jobs: pd.DataFrame) -> pd.DataFrame:
    """The jobs whose step times count: those that had their machine to themselves."""
    return jobs[~jobs["shared_machine"].astype(bool)]


def common_host_kind(base: pd.DataFrame, other: pd.DataFrame) -> str | None:
    """The kind of host with the most jobs on both sides together, among kinds both sides ran on; ties go to
    the kind seen first. None when the sides share no kind of host."""
    shared = [k for k in dict.fromkeys(base["host_kind"]) if k in set(other["host_kind"])]
    if not shared:
        return None
    counts = pd.concat([base["host_kind"], other["host_kind"]]).value_counts()
    return max(shared, key=lambda k: counts[k])


def speed_sides(
    base: pd.DataFrame, other: pd.DataFrame, names: tuple[str, str], same_kind: bool
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Each side's jobs whose step times may be compared with the other side's, and why the sides are empty
    when they are ("" otherwise)."""
    b, o = speed_jobs(base), speed_jobs(other)
    for name, all_jobs, kept in ((names[0], base, b), (names[1], other, o)):
        if kept.empty and not all_jobs.empty:
            return b.iloc[:0], o.iloc[:0], f"every {name} job shared its machine"
    if same_kind and not b.empty and not o.empty:
        kind = common_host_kind(b, o)
        if kind is None:
            return b.iloc[:0], o.iloc[:0], f"{names[0]} and {names[1]} ran on no common kind of host"
        b, o = b[b["host_kind"] == kind], o[o["host_kind"] == kind]
    return b, o, ""


def notes(jobs: pd.DataFrame) -> list[str]:
    """What a reader must know about where the jobs ran: shared machines, and backends whose jobs ran on
    several hosts (of one kind, or of several: then only same-kind jobs are compared)."""
    lines = []
    shared = jobs[jobs["shared_machine"].astype(bool)]
    if len(shared):
        lines.append(
            f"{len(shared)} job(s) shared their machine with other jobs (execution.shared_machine, e.g. bench run "
            f"--parallel): their step times are left out of the speed verdicts, the speed charts and the summary's "
            f"time columns; their accuracy, loss and epochs to accuracy stay valid: {_ids(shared)}"
        )
    for (run, backend), group in jobs.groupby(["run", "backend"], sort=False):
        where = f"{backend}" + (f" (run {run})" if jobs["run"].nunique() > 1 else "")
        hosts = group["host"].value_counts(sort=False)
        kinds = group["host_kind"].value_counts(sort=False)
        if len(kinds) > 1:
            listed = "; ".join(f"{k}: {_ids(group[group['host_kind'] == k])}" for k in kinds.index)
            lines.append(
                f"{where}'s jobs ran on {len(kinds)} kinds of host ({listed}): its step times are compared only "
                f"with jobs on the same kind of host"
            )
        elif len(hosts) > 1:
            listed = ", ".join(f"{h} ({n} job{'s' if n > 1 else ''})" for h, n in hosts.items())
            lines.append(f"{where}'s jobs ran on {len(hosts)} hosts of one kind ({kinds.index[0]}): {listed}")
        if group["frameworks"].nunique() > 1:
            versions = "; ".join(
                f"{v}: {_ids(group[group['frameworks'] == v])}" for v in dict.fromkeys(group["frameworks"])
            )
            lines.append(f"{where}'s jobs ran with different framework versions ({versions})")
    return lines


def _ids(jobs: pd.DataFrame, limit: int = 4) -> str:
    several = jobs["run"].nunique() > 1
    ids = [f"{r}/{j}" if several else j for r, j in zip(jobs["run"], jobs["job_id"])]
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def speed_view(jobs: pd.DataFrame, by: Sequence[str] = ("run", "cell")) -> pd.DataFrame:
    """The jobs whose step times are shown side by side: those that had their machine to themselves, and in
    each group of ``by`` only those on the kind of host most of them ran on (ties: the kind seen first).
    By run and cell for the speed charts and the headline; by run, backend, cell and mode for one row of a
    table."""
    alone = speed_jobs(jobs)
    if alone.empty:
        return alone
    keep = pd.Series(False, index=alone.index)
    for _, group in alone.groupby(list(by), sort=False):
        kinds = group["host_kind"].value_counts(sort=False)
        keep[group.index[group["host_kind"] == kinds.idxmax()]] = True
    return alone[keep]


def left_out(jobs: pd.DataFrame, view: pd.DataFrame) -> str:
    """What ``speed_view`` left out, as a clause for a caption ("" when nothing)."""
    shared = jobs[jobs["shared_machine"].astype(bool)]
    other_kind = jobs.drop(index=view.index.union(shared.index))
    parts = []
    if len(shared):
        parts.append(f"{len(shared)} job(s) that shared their machine ({_ids(shared)})")
    if len(other_kind):
        parts.append(
            f"{len(other_kind)} job(s) on another kind of host than the rest of their cell ({_ids(other_kind)})"
        )
    return "Left out: " + "; ".join(parts) + "." if parts else ""
