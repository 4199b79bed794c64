"""Job records and run manifests: the versioned JSON schema, and atomic read/write.

One job = one (backend, cell, seed, mode) training run in its own process; it writes exactly one record,
once, atomically (``RUN/jobs/<job_id>.json``). Everything downstream (report, check, export) only reads
records, and derives every number it shows from the raw values here.

Record layout (schema version 1; ``RECORD_SCHEMA`` below is the authority):

- identity: ``kind`` ("rnn-bench/job"), ``schema_version``, ``job_id``, ``run``, ``status``
  ("ok" | "failed" | "timeout" | "interrupted"), ``error`` (one line or null), ``backend``, ``cell``,
  ``seed``, ``mode`` ("matched" | "native"), ``spec`` (full spec dict), ``spec_hash``,
  ``data`` {source, source_hash, fingerprint, n_train, n_val, n_test}, ``weights_fingerprint`` (matched
  mode: SHA-256 of the canonical initial weights; null in native mode), ``weights_fingerprint_built``
  (records from 2026-11-30 on; required when written, optional when read: SHA-256 of the weights the backend
  actually holds after building, exported in the canonical layout; in matched mode equal to
  ``weights_fingerprint`` or the job failed; in native mode the framework's own initial weights),
  ``batch_order_hash`` (SHA-256 of every epoch's batch index order: equal across backends proves they saw
  the same batches), ``params``.
- ``epochs``: one object per finished epoch: ``epoch`` (1-based), ``train_loss``/``train_acc`` (sample-
  weighted mean over the epoch's batches, as Keras' fit reports), ``val_loss``/``val_acc``, ``train_s``
  (wall time of the training phase), ``eval_s`` (wall time of validation), ``step_s`` (sum of the
  epoch's step times), ``overhead_s`` = train_s - step_s (time spent outside the framework's step),
  and (records from 2026-11-27 on) ``start_time`` (Unix time the training phase began) and
  ``cpu_user_s``/``cpu_sys_s``/``minor_faults`` of the training phase (all of the process's threads).
- ``steps``: the raw per-step series, columnar, one entry per training step in order: ``epoch``,
  ``time_s`` (wall time around the framework's step, including getting the loss back to the host),
  ``size`` (batch size; the last batch of an epoch may be partial, as Keras keeps it), ``loss``,
  ``acc``, ``warmup`` (true for the first ``warmup_steps`` steps of the job: build/trace/compile).
  Step-time statistics use steps with ``warmup`` false and ``size`` == spec.batch_size.
- end: ``test`` {loss, acc} or null, ``target_acc``, ``time_to_acc_s`` (training seconds until val_acc
  first reaches target_acc, or null), ``samples_per_s`` (training throughput, warm-up excluded),
  ``first_step_s``, ``startup_s`` (process start until the model is built), ``peak_rss_mb``.
- ``calibration``: {``start_s``: [...], ``end_s``: [...]}: repeated timings of a fixed framework-free
  workload at the job's start and end (``harness.calibration``), for comparing machines.
- ``load``: {``start``, ``end``: {loadavg: [1, 5, 15 min], other_cpu: share of the machine's CPU other
  processes used over the sampling window}, ``busy``: bool} -- a busy machine makes timings suspect.
- ``environment``: python, frameworks (from the backend), cpu_model, cores, threads, os, hostname,
  git_commit, git_dirty, started_at (UTC ISO), command, and (from 2026-11-27) libc and glibc_tunables
  (the allocator settings the worker started with: ``harness.environment.MALLOC_TUNABLES``).
- ``runtime``: whatever the backend reports (device, thread settings, versions).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .atomic import write_json
from .errors import BenchError

SCHEMA_VERSION = 1
JOB_KIND = "rnn-bench/job"
RUN_KIND = "rnn-bench/run"
STATUSES = ("ok", "failed", "timeout", "interrupted")
#: Per-step columns and the element kind each holds ("num?" allows null: a NaN loss is stored as null).
STEP_COLUMNS: dict[str, str] = {
    "epoch": "int",
    "time_s": "num",
    "size": "int",
    "loss": "num?",
    "acc": "num",
    "warmup": "bool",
}

_num = {"type": "number"}
_num_or_null = {"type": ["number", "null"]}
_str_or_null = {"type": ["string", "null"]}
#: Fields every record written now carries, though older records (still read) lack them.
WRITE_REQUIRED: tuple[str, ...] = ("weights_fingerprint_built",)


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


_EPOCH = {
    "type": "object",
    "required": [
        "epoch",
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "train_s",
        "eval_s",
        "step_s",
        "overhead_s",
    ],
    "properties": {
        "epoch": {"type": "integer", "minimum": 1},
        "train_loss": _num_or_null,
        "train_acc": _num,
        "val_loss": _num_or_null,
        "val_acc": _num,
        "train_s": _num,
        "eval_s": _num,
        "step_s": _num,
        "overhead_s": _num,
        # Added 2026-11-27 (optional: older records lack them): when the training phase began (Unix time,
        # to line a job up with other processes or machine logs), and its CPU time and page faults.
        "start_time": _num,
        "cpu_user_s": _num,
        "cpu_sys_s": _num,
        "minor_faults": {"type": "integer", "minimum": 0},
    },
}

_LOAD_SAMPLE = {
    "type": "object",
    "required": ["loadavg", "other_cpu"],
    "properties": {"loadavg": _array(_num), "other_cpu": _num_or_null},
}

RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "rnn-bench job record",
    "type": "object",
    "required": [
        "kind",
        "schema_version",
        "job_id",
        "run",
        "status",
        "error",
        "backend",
        "cell",
        "seed",
        "mode",
        "spec",
        "spec_hash",
        "data",
        "weights_fingerprint",
        "batch_order_hash",
        "params",
        "epochs",
        "steps",
        "test",
        "target_acc",
        "time_to_acc_s",
        "samples_per_s",
        "first_step_s",
        "startup_s",
        "peak_rss_mb",
        "calibration",
        "load",
        "environment",
        "runtime",
    ],
    "properties": {
        "kind": {"const": JOB_KIND},
        "schema_version": {"const": SCHEMA_VERSION},
        "job_id": {"type": "string"},
        "run": {"type": "string"},
        "status": {"enum": list(STATUSES)},
        "error": _str_or_null,
        "backend": {"type": "string"},
        "cell": {"enum": ["simplernn", "lstm", "gru"]},
        "seed": {"type": "integer", "minimum": 0},
        "mode": {"enum": ["matched", "native"]},
        "spec": {"type": "object"},
        "spec_hash": {"type": "string"},
        "data": {
            "type": "object",
            "required": ["source", "source_hash", "fingerprint", "n_train", "n_val", "n_test"],
            "properties": {
                "source": {"type": "string"},
                "source_hash": {"type": "string"},
                "fingerprint": {"type": "string"},
                "n_train": {"type": "integer"},
                "n_val": {"type": "integer"},
                "n_test": {"type": "integer"},
            },
        },
        "weights_fingerprint": _str_or_null,
        "weights_fingerprint_built": _str_or_null,
        "batch_order_hash": _str_or_null,
        "params": {"type": ["integer", "null"]},
        "epochs": _array(_EPOCH),
        # Per-step columns hold thousands of values: their element types are checked with NumPy in
        # validate_record (_step_problems), ~50x faster than item-by-item schema validation.
        "steps": {
            "type": "object",
            "required": list(STEP_COLUMNS),
            "properties": {name: {"type": "array"} for name in STEP_COLUMNS},
        },
        "test": {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "required": ["loss", "acc"], "properties": {"loss": _num_or_null, "acc": _num}},
            ]
        },
        "target_acc": _num,
        "time_to_acc_s": _num_or_null,
        "samples_per_s": _num_or_null,
        "first_step_s": _num_or_null,
        "startup_s": _num_or_null,
        "peak_rss_mb": _num_or_null,
        "calibration": {
            "type": "object",
            "required": ["start_s", "end_s"],
            "properties": {"start_s": _array(_num), "end_s": _array(_num)},
        },
        "load": {
            "type": "object",
            "required": ["start", "end", "busy"],
            "properties": {
                "start": {"oneOf": [{"type": "null"}, _LOAD_SAMPLE]},
                "end": {"oneOf": [{"type": "null"}, _LOAD_SAMPLE]},
                "busy": {"type": "boolean"},
            },
        },
        "environment": {
            "type": "object",
            "required": [
                "python",
                "frameworks",
                "cpu_model",
                "cores",
                "threads",
                "os",
                "hostname",
                "git_commit",
                "git_dirty",
                "started_at",
                "command",
            ],
        },
        "runtime": {"type": "object"},
    },
}


def validate_record(record: Any) -> list[str]:
    """Every schema violation as one readable line (empty list: valid), plus the cross-field rules."""
    import jsonschema  # imported lazily: only readers that validate need it

    validator = jsonschema.Draft202012Validator(RECORD_SCHEMA)
    problems = [
        f"{'/'.join(map(str, err.absolute_path)) or '<root>'}: {err.message}"
        for err in sorted(validator.iter_errors(record), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if not problems:
        problems.extend(_step_problems(record["steps"]))
        problems.extend(_weights_problems(record))
    return problems


def _weights_problems(record: dict[str, Any]) -> list[str]:
    """A matched job is ok only if the backend held the weights it was given."""
    built = record.get("weights_fingerprint_built")
    if record["status"] == "ok" and record["mode"] == "matched" and built and built != record["weights_fingerprint"]:
        return ["weights_fingerprint_built: differs from weights_fingerprint in an ok matched-mode record"]
    return []


def _step_problems(steps: dict[str, list]) -> list[str]:
    lengths = {key: len(steps[key]) for key in STEP_COLUMNS}
    if len(set(lengths.values())) > 1:
        return [f"steps: columns have different lengths {lengths}"]
    checks = {
        "int": (lambda v: type(v) is int, "an integer"),
        "bool": (lambda v: type(v) is bool, "a boolean"),
        "num": (lambda v: type(v) in (int, float), "a number"),
        "num?": (lambda v: v is None or type(v) in (int, float), "a number or null"),
    }
    problems = []
    for key, kind in STEP_COLUMNS.items():
        accept, what = checks[kind]
        if not all(map(accept, steps[key])):
            problems.append(f"steps/{key}: every value must be {what}")
    return problems


def job_id(backend: str, cell: str, seed: int) -> str:
    return f"{backend}-{cell}-s{seed}"


def write_record(path: str | Path, record: dict[str, Any]) -> None:
    problems = [f"{name}: missing (every new record carries it)" for name in WRITE_REQUIRED if name not in record]
    problems += validate_record(record)
    if problems:
        # A bug in the harness, not user input: fail loudly rather than write a record readers reject.
        raise ValueError(f"refusing to write an invalid job record {path}: {problems[0]}")
    write_json(path, record)


def read_json(path: str | Path, what: str) -> Any:
    p = Path(path)
    try:
        with p.open(encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise BenchError(f"{what} not found: {p}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise BenchError(f"cannot read {what} {p}: {err}") from None
    except json.JSONDecodeError as err:
        raise BenchError(
            f"{what} {p} is not valid JSON ({err.msg} at line {err.lineno}); it may be truncated: rerun the job (bench run --resume)"
        ) from None


def read_record(path: str | Path) -> dict[str, Any]:
    """Read and validate one job record; BenchError (one line) when it is corrupt or of another schema."""
    record = read_json(path, "job record")
    if not isinstance(record, dict) or record.get("kind") != JOB_KIND:
        raise BenchError(f"{path} is not an rnn-bench job record")
    if record.get("schema_version") != SCHEMA_VERSION:
        raise BenchError(
            f"job record {path} has schema version {record.get('schema_version')!r}; this rnn-bench reads "
            f"version {SCHEMA_VERSION}: rerun the job or use the rnn-bench version that wrote it"
        )
    problems = validate_record(record)
    if problems:
        raise BenchError(f"job record {path} is invalid: {problems[0]}")
    return record


def run_dirs(results: str | Path) -> list[Path]:
    """Run folders under ``results`` (those holding a manifest), oldest first by creation time."""
    root = Path(results)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if (p / "manifest.json").is_file()]

    def created(p: Path) -> str:
        try:
            return str(read_json(p / "manifest.json", "run manifest").get("created_at", ""))
        except BenchError:
            return ""

    return sorted(runs, key=lambda p: (created(p), p.name))


def iter_job_files(run_dir: str | Path) -> Iterable[Path]:
    return sorted((Path(run_dir) / "jobs").glob("*.json"))
