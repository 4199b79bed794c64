"""What each engine really ran, and where engines still differ: pure functions of the jobs frame.

The facts come from each record's ``runtime`` (what the backend read back from the framework, not what was
requested); records from before the engines' runtime contract lack them and show as unknown. Figures in
``differences`` come only from the jobs being reported; what is known but not measured in the run is said
to be documented in docs/report.md, without numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from backends.base import BackendRef, parse_backend

from . import hosts
from .formatting import significant
from .tables import GROUP, run_order, sort_rows

#: Facts that should be equal for every seed of a backend x cell; shown once, or as "mixed" when not.
FACT_COLUMNS = (
    "engine",
    "parity_group",
    "kernel_path",
    "xla",
    "flush_denormal",
    "compile_setting",
    "graphs",
    "graph_breaks",
    "device",
    "tf32",
)
#: Times, averaged over the jobs that had their machine to themselves (on the row's usual kind of host): the
#: first step (build, trace or compile) apart from the steady-state median step, and the compile time
#: inside that first step.
TIME_COLUMNS = ("first_step_s", "step_ms_median", "compile_s")
ENGINE_COLUMNS = [*GROUP, "seeds", *FACT_COLUMNS, *TIME_COLUMNS]
#: The two optimizer-semantics groups of matched mode (the runtime contract's ``parity_group``).
PARITY_GROUPS = {
    "tf-sparse": "TensorFlow hands Keras' RMSprop the embedding gradient as IndexedSlices, one slice per token "
    "occurrence, so the squared-gradient average accumulates per occurrence",
    "dense": "the embedding gradient is dense (JAX, Keras' torch backend): duplicate tokens are summed first",
}
DOC = "docs/report.md"


def engine_table(jobs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key, group in jobs.groupby(GROUP, sort=False):
        alone = hosts.speed_view(group, GROUP)
        rows.append(
            {
                **dict(zip(GROUP, key)),
                "seeds": len(group),
                **{column: agreed(group[column]) for column in FACT_COLUMNS},
                **{column: _mean(alone[column]) for column in TIME_COLUMNS},
            }
        )
    return sort_rows(pd.DataFrame(rows, columns=ENGINE_COLUMNS), run_order(jobs)).reset_index(drop=True)


def agreed(values: pd.Series) -> object:
    """The one value every job reported; None when none reported it; "mixed: a (2), b (1)" otherwise."""
    known = [v for v in values if not _missing(v)]
    if not known:
        return None
    counts = pd.Series([str(v) if not isinstance(v, bool) else v for v in known]).value_counts(sort=False)
    if len(counts) == 1:
        return known[0]
    return "mixed: " + ", ".join(f"{v} ({n})" for v, n in counts.items())


def differences(jobs: pd.DataFrame) -> list[str]:
    """'Where engines still differ', for the engines in this report (empty when the records say nothing)."""
    return [line for line in (_parity_groups(jobs), _flush_to_zero(jobs)) if line]


def _parity_groups(jobs: pd.DataFrame) -> str:
    known = jobs[jobs["parity_group"].notna()]
    if known.empty:
        return ""
    members = {g: _names(known[known["parity_group"] == g]["backend"]) for g in dict.fromkeys(known["parity_group"])}
    listed = "; ".join(f"{g} ({', '.join(b)}): {PARITY_GROUPS.get(g, 'unknown group')}" for g, b in members.items())
    line = f"Optimizer semantics (parity groups): {listed}."
    if len(members) < 2:
        return line + " Every engine here is in one group, so this difference does not enter these comparisons."
    line += (
        " Matched jobs in different groups start from the same weights and batches but do not take the same "
        f"optimizer steps, so their accuracy differences include this (its size on a toy model is documented in "
        f"{DOC}, not measured in this run)."
    )
    gaps = _group_gaps(known)
    if gaps:
        line += " Mean test accuracy by group in this report: " + "; ".join(gaps) + "."
    return line


def _group_gaps(jobs: pd.DataFrame) -> list[str]:
    parts = []
    for (run, cell, mode), group in jobs.groupby(["run", "cell", "mode"], sort=False):
        means = group.groupby("parity_group", sort=False)["test_acc"].agg(["mean", "count"]).dropna()
        if len(means) < 2:
            continue
        where = (
            cell
            + (f" ({mode})" if jobs["mode"].nunique() > 1 else "")
            + (f" [{run}]" if jobs["run"].nunique() > 1 else "")
        )
        values = ", ".join(f"{g} {m:.3f} ({int(n)} job{'s' if n > 1 else ''})" for g, (m, n) in means.iterrows())
        spread = (means["mean"].max() - means["mean"].min()) * 100
        parts.append(f"{where}: {values}, {spread:.1f} pts apart")
    return parts


def _flush_to_zero(jobs: pd.DataFrame) -> str:
    known = jobs[jobs["flush_denormal"].notna()]
    if known.empty:
        return ""
    states = {
        state: _names(known[known["flush_denormal"].astype(bool) == state]["backend"])
        for state in (True, False)
        if (known["flush_denormal"].astype(bool) == state).any()
    }
    listed = "; ".join(f"{'on' if s else 'off'} for {', '.join(b)}" for s, b in states.items())
    line = f"Flush-to-zero of subnormal floats (what each job ran with): {listed}."
    if len(states) < 2:
        return line
    measured = _flush_effects(known)
    if measured:
        return line + " Its effect on the median step, measured here: " + "; ".join(measured) + "."
    return line + (
        " Its effect on step time is not measured in this run (that needs one engine and cell run with it on and "
        f"off); that subnormal arithmetic can make an engine without it markedly slower is documented in {DOC}."
    )


def _flush_effects(jobs: pd.DataFrame) -> list[str]:
    """Per run x backend x cell x kind of host with jobs both ways: median step with it on against off. Jobs
    whose labels differ only in the switch (``torch`` and ``torch:flush_denormal=true``, the way to run both)
    are the same backend here."""
    alone = hosts.speed_jobs(jobs)
    alone = alone.assign(backend=alone["backend"].map(_without_flush_option))
    parts = []
    for (run, backend, cell, _), group in alone.groupby(["run", "backend", "cell", "host_kind"], sort=False):
        by_state = group.groupby(group["flush_denormal"].astype(bool))["step_ms_median"].mean()
        if len(by_state) < 2 or not np.isfinite(by_state).all():
            continue
        on, off = float(by_state[True]), float(by_state[False])
        where = f"{backend} {cell}" + (f" [{run}]" if jobs["run"].nunique() > 1 else "")
        parts.append(
            f"{where}: {significant(on)} ms with it on, {significant(off)} ms off ({off / on:.2f}× as long off)"
        )
    return parts


def _without_flush_option(label: str) -> str:
    """A backend label (``torch:flush_denormal=true``) without its ``flush_denormal`` option, canonical."""
    ref = parse_backend(label)
    return BackendRef(ref.name, {k: v for k, v in ref.options.items() if k != "flush_denormal"}).label


def _names(backends: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(backends))


def _mean(values: pd.Series) -> float:
    finite = values.astype(float).dropna()
    return float(finite.mean()) if len(finite) else math.nan


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
