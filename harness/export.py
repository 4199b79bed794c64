"""``bench export``: a run in pytest-benchmark's JSON format (``pytest --benchmark-json``).

Tools that already track pytest-benchmark output over time (``pytest-benchmark compare``,
github-action-benchmark with ``tool: 'pytest'``) can then read rnn-bench runs. The layout matches the
file pytest-benchmark 5.3.1 writes (``pytest_benchmark.plugin.pytest_benchmark_generate_json``):
``machine_info``, ``commit_info``, ``benchmarks[]``, ``datetime``, ``version``.

- One benchmark per backend x cell: ``name`` "train_step[keras-lstm]", ``fullname``
  "rnn_bench::train_step[keras-lstm]" (stable across runs: history tools match on it), ``group`` the cell
  (so pytest-benchmark puts the backends of one cell in one table), ``params`` {backend, cell}.
- ``stats`` from the raw timed steps of every successful seed (``harness.derive.timed_steps``: warm-up
  and partial batches excluded), one step = one round of one iteration; every statistic is computed
  exactly as ``pytest_benchmark.stats.Stats`` does (its quartile method, outlier counts and all), and
  ``data`` holds the steps.
- ``machine_info``: pytest-benchmark's keys where the record knows them (node, processor, system,
  python_version, cpu{brand_raw, count}), extended with ``frameworks`` (every version any job reported),
  ``threads``, ``cores`` and ``rnn_bench`` (run name, spec, data fingerprint, mode).
- ``commit_info``: the project's git commit and dirty flag from the records.

pytest-benchmark is not imported here: it is a test dependency only.
"""

from __future__ import annotations

import json
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import __version__
from harness.check.samples import JobSample, load_run, read_manifest
from harness.errors import BenchError
from harness.jobs import WARMUP_STEPS

FORMATS = ("pytest-benchmark",)
#: The pytest-benchmark release whose JSON layout this matches (its "version" field).
PYTEST_BENCHMARK_FORMAT_VERSION = "5.3.1"


def export_run(run_dir: Path, fmt: str) -> str:
    if fmt != "pytest-benchmark":
        raise ValueError(f"unknown export format {fmt!r}")  # click restricts the choice
    return json.dumps(to_pytest_benchmark(run_dir), indent=4, allow_nan=False) + "\n"


def to_pytest_benchmark(run_dir: Path) -> dict[str, Any]:
    manifest = read_manifest(run_dir)
    side = load_run(run_dir)
    jobs = [j for j in side.jobs if j.ok and j.step_s.size]
    if not jobs:
        raise BenchError(f"nothing to export from run {side.name}: {_why_no_timed_steps(side.jobs)}")
    groups = sorted({j.group for j in jobs})
    return {
        "machine_info": machine_info(jobs, side.name),
        "commit_info": commit_info(jobs),
        "benchmarks": [
            benchmark(backend, cell, [j for j in jobs if j.group == (backend, cell)]) for backend, cell in groups
        ],
        "datetime": manifest.get("updated_at") or manifest.get("created_at"),
        "version": PYTEST_BENCHMARK_FORMAT_VERSION,
    }


def _why_no_timed_steps(jobs: Sequence[JobSample]) -> str:
    """Why a run has no step a benchmark could hold, and what to do about it."""
    ok = [j for j in jobs if j.ok]
    if not ok:
        return f"none of its {len(jobs)} job(s) finished ok; finish it with bench run --resume first"
    return (
        f"its {len(ok)} finished job(s) have no timed steps (every step was a warm-up step, the first "
        f"{WARMUP_STEPS} of a job, or a partial last batch); train for more steps (more epochs or training "
        "reviews) and export that run"
    )


def benchmark(backend: str, cell: str, jobs: Sequence[JobSample]) -> dict[str, Any]:
    jobs = sorted(jobs, key=lambda j: j.seed)
    data = [float(t) for j in jobs for t in j.step_s]
    test_accs = [j.test_acc for j in jobs if j.test_acc is not None]
    return {
        "group": cell,
        "name": f"train_step[{backend}-{cell}]",
        "fullname": f"rnn_bench::train_step[{backend}-{cell}]",
        "params": {"backend": backend, "cell": cell},
        "param": f"{backend}-{cell}",
        "extra_info": {
            "seeds": [j.seed for j in jobs],
            "spec_hash": sorted({str(j.spec_hash) for j in jobs}),
            "frameworks": _merged(j.environment.get("frameworks") for j in jobs),
            "threads": _one_or_all(j.environment.get("threads") for j in jobs),
            "test_acc": statistics.mean(test_accs) if test_accs else None,
            "best_val_acc": max((j.best_val_acc for j in jobs if j.best_val_acc is not None), default=None),
        },
        "options": {
            "disable_gc": False,
            "timer": "perf_counter",
            "min_rounds": len(data),
            "max_time": None,
            "min_time": None,
            "precision": None,
            "confidence": None,
            "warmup": True,  # the warm-up (build/compile) steps ran and are excluded from the rounds
        },
        "stats": {**benchmark_stats(data), "data": data, "iterations": 1},
    }


def benchmark_stats(data: Sequence[float]) -> dict[str, Any]:
    """pytest_benchmark.stats.Stats.as_dict() for these rounds, with the same definitions (checked
    against that class in tests/test_export.py)."""
    n = len(data)
    ordered = sorted(data)
    mean = statistics.mean(data)
    stddev = statistics.stdev(data) if n > 1 else 0
    q1, q3 = _quartiles(ordered)
    iqr = q3 - q1
    total = sum(data)
    iqr_outliers = sum(1 for v in data if v < q1 - 1.5 * iqr or v > q3 + 1.5 * iqr)
    stddev_outliers = sum(1 for v in data if v < mean - stddev or v > mean + stddev)
    return {
        "min": ordered[0],
        "max": ordered[-1],
        "mean": mean,
        "stddev": stddev,
        "rounds": n,
        "median": statistics.median(data),
        "iqr": iqr,
        "q1": q1,
        "q3": q3,
        "iqr_outliers": iqr_outliers,
        "stddev_outliers": stddev_outliers,
        "outliers": f"{stddev_outliers};{iqr_outliers}",
        "ld15iqr": data[0] if n == 1 else ordered[bisect_left(ordered, q1 - 1.5 * iqr)],
        "hd15iqr": data[0] if n == 1 else ordered[bisect_right(ordered, q3 + 1.5 * iqr) - 1],
        "ops": n / total if total else 0,
        "total": total,
    }


def _quartiles(ordered: Sequence[float]) -> tuple[float, float]:
    """pytest-benchmark's quartiles (Wikipedia "Quartile", methods 3 and 2)."""
    n = len(ordered)
    if n == 1:
        return ordered[0], ordered[0]
    if n % 2 == 0:  # method 2: medians of the lower and upper halves
        return statistics.median(ordered[: n // 2]), statistics.median(ordered[n // 2 :])
    k, r = divmod(n, 4)  # method 3
    if r == 1:
        return (0.25 * ordered[k - 1] + 0.75 * ordered[k], 0.75 * ordered[3 * k] + 0.25 * ordered[3 * k + 1])
    return (0.75 * ordered[k] + 0.25 * ordered[k + 1], 0.25 * ordered[3 * k + 1] + 0.75 * ordered[3 * k + 2])


def machine_info(jobs: Sequence[JobSample], run_name: str) -> dict[str, Any]:
    env = jobs[0].environment if jobs else {}
    first = jobs[0] if jobs else None
    return {
        "node": env.get("hostname"),
        "processor": env.get("cpu_model"),
        "system": env.get("os"),
        "python_version": env.get("python"),
        "cpu": {"brand_raw": env.get("cpu_model"), "count": env.get("cores")},
        # -- rnn-bench's extensions --
        "frameworks": _merged(j.environment.get("frameworks") for j in jobs),
        "threads": _one_or_all(j.environment.get("threads") for j in jobs),
        "cores": env.get("cores"),
        "rnn_bench": {
            "version": __version__,
            "run": run_name,
            "mode": first.mode if first else None,
            "data_fingerprint": first.fingerprint if first else None,
            "spec": {k: v for k, v in (first.spec or {}).items() if k not in ("cell", "seed")} if first else None,
        },
    }


def commit_info(jobs: Sequence[JobSample]) -> dict[str, Any]:
    env = jobs[0].environment if jobs else {}
    return {
        "id": env.get("git_commit") or "unversioned",
        "time": None,
        "author_time": None,
        "dirty": bool(env.get("git_dirty")),
        "project": "rnn-bench",
        "branch": "(unknown)",
    }


def _merged(dicts) -> dict[str, Any]:
    """Framework versions of several jobs (each backend reports its own) in one dict."""
    out: dict[str, Any] = {}
    for d in dicts:
        out.update(d or {})
    return dict(sorted(out.items()))


def _one_or_all(values) -> Any:
    distinct = sorted({v for v in values if v is not None})
    return distinct[0] if len(distinct) == 1 else distinct
