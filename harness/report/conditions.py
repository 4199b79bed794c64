"""Under which conditions the jobs ran, and what a reader must be warned about before trusting a comparison.

``banners``: the jobs being compared did not share spec, data, machine or thread count, or (with equal
spec and data) did not see the same batches or start from the same weights. ``--strict`` refuses to
report when there is any. ``flags``: per-job facts that make a timing suspect (busy machine, harness
overhead above 1%), and differences worth knowing that are not errors (framework versions across runs).
Pure functions of the jobs frame.
"""

from __future__ import annotations

import json

import pandas as pd

from .tables import run_order, sort_rows

#: Issue 4: the harness's own work must stay under 1% of training time.
MAX_OVERHEAD_SHARE = 0.01

CONDITION_COLUMNS = [
    "run",
    "job_id",
    "backend",
    "cell",
    "seed",
    "mode",
    "spec_hash",
    "spec_key",
    "data_source",
    "data_fingerprint",
    "weights_fingerprint",
    "batch_order_hash",
    "hostname",
    "cpu_model",
    "host",
    "host_kind",
    "executor",
    "shared_machine",
    "cpus",
    "cores",
    "threads",
    "os",
    "python",
    "frameworks",
    "git_commit",
    "git_dirty",
    "started_at",
    "busy",
    "other_cpu_max",
    "overhead_share",
]

#: (what, columns): every job in the report must agree on these.
_SHARED = (
    ("spec", ("spec_json",)),
    ("data fingerprint", ("data_fingerprint",)),
    ("thread count", ("threads",)),
    ("target accuracy (time-to-accuracy would not compare)", ("target_acc",)),
)
#: (what, column): equal for every job with the same spec, data, cell and seed, whatever the backend.
_SAME_INPUTS = (
    ("batch order (the backends did not see the same batches)", "batch_order_hash"),
    ("initial weights (matched mode)", "weights_fingerprint"),
)


def condition_table(jobs: pd.DataFrame) -> pd.DataFrame:
    return sort_rows(jobs[CONDITION_COLUMNS], run_order(jobs)).reset_index(drop=True)


def banners(jobs: pd.DataFrame) -> list[str]:
    """One line per mismatch among the jobs being compared; empty when they are comparable."""
    if jobs.empty:
        return []
    lines = []
    for what, columns in _SHARED:
        values = jobs[list(columns)].astype(str).agg(" / ".join, axis=1)
        if values.nunique() > 1:
            detail = _spec_difference(jobs) if what == "spec" else _where(jobs, values)
            lines.append(f"the jobs compared do not share the same {what}: {detail}")
    # Several hosts are fine (a cluster), and within a run step times are compared only between jobs on one
    # kind of host (``hosts``, which notes it); runs made on different kinds of host are worth a banner.
    kinds = jobs.groupby("run", sort=False)["host_kind"].agg(lambda k: " / ".join(sorted(set(k))))
    if kinds.nunique() > 1:
        lines.append(
            f"the runs compared ran on different kinds of host (CPU model, GPU): {_where(jobs, jobs['host_kind'])}"
        )
    same_inputs = jobs[jobs["mode"] == "matched"]
    for what, column in _SAME_INPUTS:
        data = same_inputs if column == "weights_fingerprint" else jobs
        for (cell, seed), group in _groups(data):
            values = group[column].astype(str)
            if values.nunique() > 1:
                lines.append(f"{cell} seed {seed}: jobs differ in {what}: {_where(group, values)}")
    return lines


def flags(jobs: pd.DataFrame) -> list[str]:
    """Per-job warnings a reader must see next to the numbers (they do not stop the report)."""
    lines = []
    for row in jobs[jobs["busy"]].itertuples():
        share = (
            f" (other processes used up to {row.other_cpu_max:.0%} of the CPU)" if pd.notna(row.other_cpu_max) else ""
        )
        lines.append(f"{_job(row)} ran on a busy machine{share}: its timings are suspect; rerun it on an idle machine")
    high = jobs[jobs["overhead_share"].fillna(0) > MAX_OVERHEAD_SHARE]
    for row in high.itertuples():
        lines.append(
            f"{_job(row)}: harness overhead {row.overhead_share:.1%} of training time "
            f"(expected under {MAX_OVERHEAD_SHARE:.0%}); its epoch times include harness work"
        )
    return lines


def notes(jobs: pd.DataFrame) -> list[str]:
    """Differences that are often the point of combining runs (framework upgrades), stated, not warned."""
    lines = []
    if jobs["run"].nunique() > 1:
        for backend, group in jobs.groupby("backend", sort=False):
            if group["frameworks"].nunique() > 1:
                lines.append(f"{backend} versions differ across runs: {_where(group, group['frameworks'])}")
    dirty = jobs[jobs["git_dirty"].fillna(False).astype(bool)]
    if len(dirty):
        lines.append(f"{len(dirty)} job(s) ran from a checkout with uncommitted changes (git_dirty)")
    return lines


def shared_spec_text(jobs: pd.DataFrame) -> str:
    """The spec (without cell and seed) as ``field=value`` pairs, when every job shares it."""
    specs = jobs["spec_json"].unique()
    if len(specs) != 1:
        return ""
    return ", ".join(f"{k}={v}" for k, v in json.loads(specs[0]).items())


# -- helpers ------------------------------------------------------------------------------------------


def _groups(jobs: pd.DataFrame):
    """(cell, seed), group for jobs that should have seen identical inputs: same spec, data, cell, seed."""
    for (_, _, cell, seed), group in jobs.groupby(["spec_key", "data_fingerprint", "cell", "seed"], sort=False):
        yield (cell, seed), group


def _where(jobs: pd.DataFrame, values: pd.Series) -> str:
    """'value (where)' for each distinct value: whole runs by name, otherwise the job ids (first few)."""
    parts = []
    for value in dict.fromkeys(values):
        mask = values == value
        parts.append(f"{short_hash(value)} ({_describe(jobs[mask], jobs)})")
    return "; ".join(parts)


def _describe(subset: pd.DataFrame, everything: pd.DataFrame) -> str:
    runs = list(dict.fromkeys(subset["run"]))
    whole = all((everything["run"] == r).sum() == (subset["run"] == r).sum() for r in runs)
    if whole:
        return "run " + ", ".join(runs) if everything["run"].nunique() > 1 else "all jobs"
    ids = [f"{r}/{j}" if everything["run"].nunique() > 1 else j for r, j in zip(subset["run"], subset["job_id"])]
    return ", ".join(ids[:4]) + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")


def _spec_difference(jobs: pd.DataFrame) -> str:
    """Only the fields that differ, e.g. 'units: 32 (run a); 16 (run b)'."""
    specs = jobs["spec_json"].map(json.loads)
    fields = sorted({k for s in specs for k in s})
    parts = []
    for name in fields:
        values = specs.map(lambda s, name=name: json.dumps(s.get(name)))
        if values.nunique() > 1:
            parts.append(f"{name}: {_where(jobs, values)}")
    return "; ".join(parts)


def short_hash(value: str) -> str:
    """Hashes and fingerprints (40-64 hex digits) cut to 12: enough to tell them apart in a sentence."""
    return value[:12] if len(value) >= 40 and all(c in "0123456789abcdef" for c in value) else value


def _job(row) -> str:
    return f"{row.run}/{row.job_id}"
