"""The baseline file (``bench baseline save``): a compact, schema-versioned copy of what ``bench check``
needs from a run, meant to be committed (``results/baselines/``) and compared against later.

Layout (kind "rnn-bench/baseline", schema version 1; ``BASELINE_SCHEMA`` is the authority)::

    {"kind", "schema_version", "created_at", "rnn_bench_version",
     "source": {"run": name(s), "path": first run folder, "paths": every run folder, "command": the
                (first) run's command line},
     "jobs": [{"job_id", "backend", "cell", "seed", "status", "error", "mode", "spec", "spec_hash",
               "data": {source, source_hash, fingerprint, n_train, n_val, n_test},
               "environment": {...as in the record}, "calibration": {"start_s": [...], "end_s": [...]},
               "busy": bool, "epochs": [{epoch, train_loss, train_acc, val_loss, val_acc, train_s, eval_s}],
               "test": {loss, acc} | null,
               "step_s": [...]}]}

``step_s`` holds the *timed* steps only (warm-up and partial batches already excluded by
``harness.derive.timed_steps``), in step order (block statistics need the order), rounded to 0.1 us:
far below timer noise, and it keeps a default-spec baseline around 100 KB. Number lists are written
on one line each so the file stays readable and diffable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from harness import __version__
from harness.atomic import write_text
from harness.errors import BenchError
from harness.records import read_json

from .samples import JobSample, Side, find_run, latest_run, load_run, pooled, read_manifest, resolve_run

BASELINE_KIND = "rnn-bench/baseline"
BASELINE_SCHEMA_VERSION = 1
_STEP_DECIMALS = 7  # 0.1 microsecond
_EPOCH_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "train_s", "eval_s")

_num_list = {"type": "array", "items": {"type": "number"}}
_str_or_null = {"type": ["string", "null"]}
BASELINE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "rnn-bench baseline",
    "type": "object",
    "required": ["kind", "schema_version", "created_at", "source", "jobs"],
    "properties": {
        "kind": {"const": BASELINE_KIND},
        "schema_version": {"const": BASELINE_SCHEMA_VERSION},
        "source": {"type": "object", "required": ["run"]},
        "jobs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "backend",
                    "cell",
                    "seed",
                    "status",
                    "mode",
                    "spec",
                    "spec_hash",
                    "data",
                    "environment",
                    "calibration",
                    "busy",
                    "epochs",
                    "test",
                    "step_s",
                ],
                "properties": {
                    "backend": {"type": "string"},
                    "cell": {"type": "string"},
                    "seed": {"type": "integer", "minimum": 0},
                    "status": {"type": "string"},
                    "error": _str_or_null,
                    "mode": _str_or_null,
                    "spec": {"type": ["object", "null"]},
                    "spec_hash": _str_or_null,
                    "data": {"type": ["object", "null"]},
                    "environment": {"type": "object"},
                    "calibration": {
                        "type": "object",
                        "required": ["start_s", "end_s"],
                        "properties": {"start_s": _num_list, "end_s": _num_list},
                    },
                    "busy": {"type": "boolean"},
                    "epochs": {"type": "array", "items": {"type": "object", "required": ["epoch", "val_acc"]}},
                    "test": {"type": ["object", "null"]},
                    "step_s": _num_list,
                    # "cpu" or "gpu": where the job trained (absent in files saved before GPU support: cpu)
                    "device": {"enum": ["cpu", "gpu"]},
                },
            },
        },
    },
}


# -- save --------------------------------------------------------------------------------------------


def baseline_from_runs(run_dirs: list[Path]) -> dict[str, Any]:
    """One baseline from one or more runs of the same code (their jobs pooled, as ``bench check`` pools them)."""
    side = pooled([load_run(d) for d in run_dirs])
    if not any(job.ok for job in side.jobs):
        raise BenchError(f"run {side.name} has no successful job; a baseline needs at least one")
    slowed = [job.job_id for job in side.jobs if job.injected_slowdown]
    if slowed:
        raise BenchError(
            f"run {side.name} was slowed on purpose by bench check calibrate ({', '.join(slowed)}); "
            "save a baseline from real runs"
        )
    return {
        "kind": BASELINE_KIND,
        "schema_version": BASELINE_SCHEMA_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rnn_bench_version": __version__,
        "source": {
            "run": side.name,
            "path": str(run_dirs[0]),
            "paths": [str(d) for d in run_dirs],
            "command": read_manifest(run_dirs[0]).get("command"),
        },
        "jobs": [_job_to_json(job) for job in side.jobs],
    }


def dumps(baseline: Mapping[str, Any]) -> str:
    """JSON with an indented structure but every list of numbers on one line."""
    text = json.dumps(baseline, indent=1, allow_nan=False)
    return re.sub(r"\[\s*([-+0-9.eE,\s]+?)\s*\]", lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text) + "\n"


def save(run_dirs: list[Path], out: Path) -> dict[str, Any]:
    baseline = baseline_from_runs(run_dirs)
    write_text(out, dumps(baseline))
    return baseline


def _job_to_json(job: JobSample) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "backend": job.backend,
        "cell": job.cell,
        "seed": job.seed,
        "status": job.status,
        "error": job.error,
        "mode": job.mode,
        "spec": dict(job.spec) if job.spec is not None else None,
        "spec_hash": job.spec_hash,
        "data": dict(job.data) if job.data is not None else None,
        "environment": dict(job.environment),
        "calibration": {k: [float(v) for v in job.calibration.get(k, [])] for k in ("start_s", "end_s")},
        "busy": job.busy,
        "epochs": [{k: e.get(k) for k in _EPOCH_FIELDS} for e in job.epochs],
        "test": dict(job.test) if job.test is not None else None,
        "step_s": [round(float(t), _STEP_DECIMALS) for t in job.step_s],
        "device": job.device,
    }


# -- load --------------------------------------------------------------------------------------------


def load_baseline_file(path: Path) -> Side:
    """A baseline file as a Side; BenchError (one line) when it is missing, corrupt or of another version."""
    data = read_json(path, "baseline file")
    if not isinstance(data, dict) or data.get("kind") != BASELINE_KIND:
        raise BenchError(
            f"{path} is not an rnn-bench baseline file (kind {BASELINE_KIND!r}); "
            f"write one with bench baseline save RUN --out FILE"
        )
    if data.get("schema_version") != BASELINE_SCHEMA_VERSION:
        raise BenchError(
            f"baseline {path} has schema version {data.get('schema_version')!r}; this rnn-bench "
            f"reads version {BASELINE_SCHEMA_VERSION}: save the baseline again from a run"
        )
    problem = _first_schema_problem(data)
    if problem:
        raise BenchError(f"baseline {path} is invalid: {problem}; save it again from a run")
    jobs = tuple(_job_from_json(j) for j in data["jobs"])
    return Side("baseline file", (path,), str(data["source"].get("run") or path.stem), jobs)


def load_side(ref: str, results: str | Path) -> Side:
    """``ref``: a baseline file, a run folder, or a run name under ``results``."""
    p = Path(ref)
    if p.is_file():
        return load_run(p.parent) if p.name == "manifest.json" else load_baseline_file(p)
    folder = find_run(ref, results)
    if folder is None:
        raise BenchError(f"baseline {ref} not found: give a baseline file, a run folder, or a run name under {results}")
    return load_run(folder)


def load_sides(refs: list[str], results: str | Path) -> Side:
    """Several baselines (files or runs) pooled into one side."""
    return pooled([load_side(ref, results) for ref in refs])


def load_candidates(refs: list[str], results: str | Path) -> Side:
    """The candidate runs (folders or names under ``results``) pooled; with none, the latest run there."""
    if not refs:
        return load_run(latest_run(results))
    return pooled([load_run(resolve_run(ref, results, "candidate run")) for ref in refs])


def _job_from_json(j: Mapping[str, Any]) -> JobSample:
    return JobSample(
        backend=j["backend"],
        cell=j["cell"],
        seed=int(j["seed"]),
        status=j["status"],
        error=j.get("error"),
        mode=j["mode"],
        spec=j["spec"],
        spec_hash=j["spec_hash"],
        data=j["data"],
        environment=j["environment"],
        device=j.get("device", "cpu"),
        calibration={k: list(j["calibration"][k]) for k in ("start_s", "end_s")},
        busy=j["busy"],
        step_s=np.asarray(j["step_s"], dtype=float),
        epochs=tuple(j["epochs"]),
        test=j["test"],
    )


def _first_schema_problem(data: Any) -> str | None:
    import jsonschema  # lazily, as harness.records does

    errors = sorted(
        jsonschema.Draft202012Validator(BASELINE_SCHEMA).iter_errors(data),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    if not errors:
        return None
    err = errors[0]
    return f"{'/'.join(map(str, err.absolute_path)) or '<root>'}: {err.message}"
