"""Job records: typed dataclasses, their JSON schema, the format history, and atomic read/write.

One job = one (backend, cell, seed, mode) training run in its own process; it writes exactly one record,
once, atomically (``RUN/jobs/<job_id>.json``). Everything downstream (report, check, export) reads records
through ``read_record`` and derives every number it shows from the raw values here.

The dataclasses below are the record's shape; ``RECORD_SCHEMA`` validates the JSON form and a test checks
that the two name the same fields. docs/record-format.md describes each field and the version history;
``MIGRATIONS`` turns an older file into the current version when it is read.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import write_json
from .errors import BenchError

#: The job record's format version (history in docs/record-format.md). Readers migrate older versions.
RECORD_SCHEMA_VERSION = 2
#: The run manifest's format version (harness/runner.py writes it).
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


# -- the record's shape ----------------------------------------------------------------------------------
@dataclass
class DataIdentity:
    """Which prepared data the job trained on: equal fingerprints prove equal arrays."""

    source: str
    source_hash: str
    fingerprint: str
    n_train: int
    n_val: int
    n_test: int


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float | None  # sample-weighted over the epoch's batches, as Keras' fit() reports it
    train_acc: float
    val_loss: float | None
    val_acc: float
    train_s: float  # wall time of the training phase
    eval_s: float  # wall time of the validation pass
    step_s: float  # sum of the epoch's step times
    overhead_s: float  # train_s - step_s: time spent outside the framework's step
    # When the training phase began (Unix time) and its CPU time and page faults (all threads): where a
    # step's time went besides computing. Null in records written before these were measured.
    start_time: float | None = None
    cpu_user_s: float | None = None
    cpu_sys_s: float | None = None
    minor_faults: int | None = None


@dataclass
class StepSeries:
    """The raw per-step series, columnar, in step order. Step statistics use ``harness.derive``."""

    epoch: list[int] = field(default_factory=list)
    time_s: list[float] = field(default_factory=list)  # wall time around the step, loss read back included
    size: list[int] = field(default_factory=list)  # the last batch of an epoch may be partial
    loss: list[float | None] = field(default_factory=list)  # a NaN loss is stored as null
    acc: list[float] = field(default_factory=list)
    warmup: list[bool] = field(default_factory=list)  # the job's first steps: build/trace/compile

    def append(self, epoch: int, time_s: float, size: int, loss: float | None, acc: float, warmup: bool) -> None:
        self.epoch.append(epoch)
        self.time_s.append(time_s)
        self.size.append(size)
        self.loss.append(loss)
        self.acc.append(acc)
        self.warmup.append(warmup)

    def __len__(self) -> int:
        return len(self.time_s)


@dataclass
class Metrics:
    loss: float | None
    acc: float


@dataclass
class Calibration:
    """Timings of a fixed framework-free workload (``harness.calibration``) at the job's start and end."""

    start_s: list[float] = field(default_factory=list)
    end_s: list[float] = field(default_factory=list)


@dataclass
class LoadSample:
    loadavg: list[float]
    other_cpu: float | None  # share of the machine's CPU other processes used while sampled


@dataclass
class MachineLoad:
    start: LoadSample | None = None
    end: LoadSample | None = None
    busy: bool = False  # other processes used the CPU: timings suspect


@dataclass
class GpuInfo:
    """The GPU a job trained on, read in its worker from the framework that ran it, plus ``nvidia-smi``."""

    name: str
    compute_capability: str | None = None  # e.g. "9.0"
    memory_mb: float | None = None  # total memory of the device (MiB)
    driver: str | None = None  # NVIDIA driver version (nvidia-smi)
    cuda: str | None = None  # the CUDA runtime the framework runs
    cudnn: str | None = None  # the cuDNN the framework runs


@dataclass
class Environment:
    python: str
    frameworks: dict[str, str]
    cpu_model: str
    cores: int
    threads: int
    os: str
    hostname: str
    git_commit: str | None
    git_dirty: bool | None
    started_at: str
    command: str
    libc: str | None = None
    glibc_tunables: str | None = None  # the allocator settings the worker started with
    gpu: GpuInfo | None = None  # the GPU the job trained on; null when it trained on the CPU


@dataclass
class Execution:
    """Where and how the job ran: a job that shared its machine with others must stay out of speed verdicts."""

    executor: str = "local"
    host: str = ""
    shared_machine: bool = False
    cpus: list[int] | None = None  # CPU ids the job was pinned to, if any


@dataclass
class JobRecord:
    job_id: str
    run: str
    backend: str
    cell: str
    seed: int
    mode: str  # "matched" | "native"
    spec: dict[str, Any]  # the job's full spec (harness.spec.Spec.to_dict())
    spec_hash: str
    target_acc: float
    environment: Environment
    status: str = "failed"  # until the job finishes: an interrupted job keeps what it did
    error: str | None = None
    data: DataIdentity | None = None
    weights_fingerprint: str | None = None  # matched mode: SHA-256 of the canonical initial weights
    # SHA-256 of the weights the backend holds after building, exported in the canonical layout: in matched
    # mode equal to weights_fingerprint or the job failed (a wrong conversion); in native mode the
    # framework's own initial weights.
    weights_fingerprint_built: str | None = None
    batch_order_hash: str | None = None  # SHA-256 of every epoch's batch order: equal = same batches
    params: int | None = None
    epochs: list[EpochRecord] = field(default_factory=list)
    steps: StepSeries = field(default_factory=StepSeries)
    test: Metrics | None = None
    time_to_acc_s: float | None = None
    samples_per_s: float | None = None
    first_step_s: float | None = None
    startup_s: float | None = None
    peak_rss_mb: float | None = None
    peak_device_mb: float | None = None  # peak memory allocated on the GPU during the job; null on the CPU
    calibration: Calibration = field(default_factory=Calibration)
    load: MachineLoad = field(default_factory=MachineLoad)
    execution: Execution = field(default_factory=Execution)
    runtime: dict[str, Any] = field(default_factory=dict)  # what the backend reports (see backends.base)
    kind: str = JOB_KIND
    schema_version: int = RECORD_SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRecord:
        """The record of a JSON object that already passed ``validate_record``."""
        return _build(cls, data)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def batch_size(self) -> int:
        return int(self.spec["batch_size"])


def _build(cls: type, data: Any) -> Any:
    """A dataclass (recursively) from its ``asdict`` form, guided by the field annotations."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = _convert(hints[f.name], data[f.name])
    return cls(**values)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if dataclasses.is_dataclass(hint):
        return _build(hint, value)
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_convert(item, v) for v in value] if dataclasses.is_dataclass(item) else list(value)
    return value


# -- the JSON schema -------------------------------------------------------------------------------------
_num = {"type": "number"}
_num_or_null = {"type": ["number", "null"]}
_str_or_null = {"type": ["string", "null"]}
_int_or_null = {"type": ["integer", "null"]}


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


def _object(properties: dict[str, Any], optional: Iterable[str] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [name for name in properties if name not in set(optional)],
        "properties": properties,
    }


_EPOCH = _object(
    {
        "epoch": {"type": "integer", "minimum": 1},
        "train_loss": _num_or_null,
        "train_acc": _num,
        "val_loss": _num_or_null,
        "val_acc": _num,
        "train_s": _num,
        "eval_s": _num,
        "step_s": _num,
        "overhead_s": _num,
        "start_time": _num_or_null,
        "cpu_user_s": _num_or_null,
        "cpu_sys_s": _num_or_null,
        "minor_faults": {"type": ["integer", "null"], "minimum": 0},
    }
)
_LOAD_SAMPLE = _object({"loadavg": _array(_num), "other_cpu": _num_or_null})
_GPU = _object(
    {
        "name": {"type": "string"},
        "compute_capability": _str_or_null,
        "memory_mb": _num_or_null,
        "driver": _str_or_null,
        "cuda": _str_or_null,
        "cudnn": _str_or_null,
    }
)
_ENVIRONMENT = _object(
    {
        "python": {"type": "string"},
        "frameworks": {"type": "object", "additionalProperties": {"type": "string"}},
        "cpu_model": {"type": "string"},
        "cores": {"type": "integer"},
        "threads": {"type": "integer"},
        "os": {"type": "string"},
        "hostname": {"type": "string"},
        "git_commit": _str_or_null,
        "git_dirty": {"type": ["boolean", "null"]},
        "started_at": {"type": "string"},
        "command": {"type": "string"},
        "libc": _str_or_null,
        "glibc_tunables": _str_or_null,
        "gpu": {"oneOf": [{"type": "null"}, _GPU]},
    },
    # Version-2 records written before GPU support lack it: read as null.
    optional=("gpu",),
)

RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "rnn-bench job record",
    **_object(
        {
            "kind": {"const": JOB_KIND},
            "schema_version": {"const": RECORD_SCHEMA_VERSION},
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
            "data": _object(
                {
                    "source": {"type": "string"},
                    "source_hash": {"type": "string"},
                    "fingerprint": {"type": "string"},
                    "n_train": {"type": "integer"},
                    "n_val": {"type": "integer"},
                    "n_test": {"type": "integer"},
                }
            ),
            "weights_fingerprint": _str_or_null,
            "weights_fingerprint_built": _str_or_null,
            "batch_order_hash": _str_or_null,
            "params": _int_or_null,
            "epochs": _array(_EPOCH),
            # Per-step columns hold thousands of values: their element types are checked with plain Python
            # in validate_record (_step_problems), ~50x faster than item-by-item schema validation.
            "steps": _object({name: {"type": "array"} for name in STEP_COLUMNS}),
            "test": {"oneOf": [{"type": "null"}, _object({"loss": _num_or_null, "acc": _num})]},
            "target_acc": _num,
            "time_to_acc_s": _num_or_null,
            "samples_per_s": _num_or_null,
            "first_step_s": _num_or_null,
            "startup_s": _num_or_null,
            "peak_rss_mb": _num_or_null,
            "peak_device_mb": _num_or_null,
            "calibration": _object({"start_s": _array(_num), "end_s": _array(_num)}),
            "load": _object(
                {
                    "start": {"oneOf": [{"type": "null"}, _LOAD_SAMPLE]},
                    "end": {"oneOf": [{"type": "null"}, _LOAD_SAMPLE]},
                    "busy": {"type": "boolean"},
                }
            ),
            "environment": _ENVIRONMENT,
            "execution": _object(
                {
                    "executor": {"type": "string"},
                    "host": {"type": "string"},
                    "shared_machine": {"type": "boolean"},
                    "cpus": {"oneOf": [{"type": "null"}, _array({"type": "integer", "minimum": 0})]},
                }
            ),
            "runtime": {"type": "object"},
        },
        # Version-2 records written before GPU support lack it: read as null.
        optional=("peak_device_mb",),
    ),
}


# -- the format history ----------------------------------------------------------------------------------
def _v1_to_v2(record: dict[str, Any]) -> dict[str, Any]:
    """Version 2 added ``execution``, ``weights_fingerprint_built`` (null: not measured), ``peak_device_mb``
    and ``environment.gpu``, and made the per-epoch CPU/fault fields (absent before 2026-11-27) null instead
    of missing; a version-1 job ran alone in a local process, on the CPU."""
    out = {"weights_fingerprint_built": None, **record}
    env = out.get("environment") or {}
    out.setdefault(
        "execution", {"executor": "local", "host": env.get("hostname", ""), "shared_machine": False, "cpus": None}
    )
    optional = ("start_time", "cpu_user_s", "cpu_sys_s", "minor_faults")
    out["epochs"] = [{**{k: None for k in optional}, **e} for e in out.get("epochs") or []]
    out["environment"] = {"libc": None, "glibc_tunables": None, "gpu": None, **env}
    out.setdefault("peak_device_mb", None)
    out["schema_version"] = 2
    return out


#: version -> the function that turns a record of that version into the next one.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


def migrate(record: dict[str, Any], path: str | Path = "<record>") -> dict[str, Any]:
    """The current version of a record dict of any known version; BenchError for an unknown one."""
    version = record.get("schema_version")
    while version != RECORD_SCHEMA_VERSION:
        step = MIGRATIONS.get(version) if isinstance(version, int) else None
        if step is None:
            raise BenchError(
                f"job record {path} has schema version {version!r}; this rnn-bench reads versions "
                f"{', '.join(map(str, sorted(MIGRATIONS)))} to {RECORD_SCHEMA_VERSION}: rerun the job or use the "
                "rnn-bench version that wrote it"
            )
        record = step(record)
        version = record.get("schema_version")
    return record


# -- validation --------------------------------------------------------------------------------------------
def validate_record(record: Any) -> list[str]:
    """Every schema violation of a record's JSON form as one readable line (empty list: valid)."""
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
    built = record["weights_fingerprint_built"]
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


# -- files -------------------------------------------------------------------------------------------------
def job_id(backend: str, cell: str, seed: int) -> str:
    return f"{backend}-{cell}-s{seed}"


def write_record(path: str | Path, record: JobRecord) -> None:
    data = record.to_dict()
    problems = validate_record(data)
    if problems:
        # A bug in the harness, not user input: fail loudly rather than write a record readers reject.
        raise ValueError(f"refusing to write an invalid job record {path}: {problems[0]}")
    write_json(path, data)


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


def read_record(path: str | Path) -> JobRecord:
    """The one reader: read, migrate to the current version, validate; BenchError (one line) when the file
    is corrupt, foreign or of an unknown version."""
    return parse_record(read_json(path, "job record"), path)


def parse_record(data: Any, where: str | Path) -> JobRecord:
    """A record's JSON form (read from a file, or sent back by an executor) as a ``JobRecord``: migrated to
    the current version and validated; BenchError (one line) naming ``where`` when it is not a valid record."""
    if not isinstance(data, dict) or data.get("kind") != JOB_KIND:
        raise BenchError(f"{where} is not an rnn-bench job record")
    data = migrate(data, where)
    problems = validate_record(data)
    if problems:
        raise BenchError(f"job record {where} is invalid: {problems[0]}")
    return JobRecord.from_dict(data)


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
