"""The run manifest (``RUN/manifest.json``): what a run is, where each job stands, and how it was executed.

One constructor (``Manifest.new``, from a ``RunConfig``), one reader (``read_manifest``), one mapping back
to a ``RunConfig`` (``Manifest.run_config``, for ``--resume``). The JSON schema (``MANIFEST_SCHEMA``) is
derived from the dataclasses below, so the file and the types cannot drift apart.

Format history (``schema_version``; a file of an older version is migrated when read, as pyperf and asv
do, and saved in the current version the next time the run is resumed):

1. The first format. ``data_request``, ``backend_extra`` and a job's ``runner_cpu_s`` may be missing, and
   a job without a record may have ``record: null``.
2. ``sessions``: how each ``bench run`` (or ``--resume``) on the folder executed its jobs (executor,
   scheduler, parallel, accuracy_only, and the host it ran on); each job's ``host``: the machine that ran
   it (also known when it left no record, e.g. a Dask worker that died).
3. ``device``: the ``--device`` the run asked for (``cpu``, ``gpu`` or ``auto``); a resumed run keeps it.
   Older runs trained on the CPU.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

from .devices import DeviceRequest
from .errors import BenchError
from .jobs import Job
from .plan import RunConfig, plan
from .records import RUN_KIND, read_json
from .spec import Spec

MANIFEST_SCHEMA_VERSION = 3

JobStatus = Literal["pending", "running", "ok", "failed", "timeout", "interrupted"]
JOB_STATUSES: tuple[str, ...] = get_args(JobStatus)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Matrix:
    backends: tuple[str, ...]
    cells: tuple[str, ...]
    seeds: tuple[int, ...]
    mode: str


@dataclass(frozen=True)
class DataRequest:
    """The data as the user asked for it (``--data``, limits), to prepare it again on ``--resume``."""

    data: str | None = None
    train_limit: int | None = None
    test_limit: int | None = None


@dataclass(frozen=True)
class Session:
    """One ``bench run`` or ``bench run --resume`` on this folder, and how it executed its jobs."""

    started_at: str
    command: str
    host: str | None  # the machine bench ran on (for Dask: the client, not the workers)
    executor: Literal["local", "dask"]
    scheduler: str | None
    parallel: int | None
    accuracy_only: bool


@dataclass(frozen=True)
class JobEntry:
    job_id: str
    backend: str
    cell: str
    seed: int
    status: JobStatus
    record: str  # the record's path inside the run folder
    error: str | None = None
    wall_s: float | None = None
    runner_cpu_s: float | None = None
    host: str | None = None  # the machine that ran (or is running) the job

    @classmethod
    def pending(cls, job: Job) -> JobEntry:
        return cls(job.job_id, job.backend, job.cell, job.seed, "pending", f"jobs/{job.job_id}.json")


@dataclass(frozen=True)
class Manifest:
    kind: ClassVar[str] = RUN_KIND
    schema_version: ClassVar[int] = MANIFEST_SCHEMA_VERSION

    name: str
    created_at: str
    updated_at: str
    command: str
    spec: Spec  # the run's base spec; each job's cell and seed come from its entry
    matrix: Matrix
    data: dict[str, Any]  # the prepared data's identity (Dataset.identity): source, hashes, sizes
    data_request: DataRequest
    threads: int
    target_acc: float
    timeout_s: float | None
    backend_extra: dict[str, Any]
    sessions: tuple[Session, ...]
    jobs: tuple[JobEntry, ...]
    device: DeviceRequest = "cpu"  # what the run asked for; each record's runtime says what each job used

    @classmethod
    def new(cls, config: RunConfig, name: str, data: Mapping[str, Any], session: Session) -> Manifest:
        jobs = plan(config.backends, config.cells, config.seeds, config.mode)
        return cls(
            name=name,
            created_at=session.started_at,
            updated_at=session.started_at,
            command=config.command,
            spec=config.spec,
            matrix=Matrix(tuple(config.backends), tuple(config.cells), tuple(config.seeds), config.mode),
            data=dict(data),
            data_request=DataRequest(config.data, config.train_limit, config.test_limit),
            threads=config.threads,
            target_acc=config.target_acc,
            timeout_s=config.timeout_s,
            backend_extra=dict(config.backend_extra),
            sessions=(session,),
            jobs=tuple(JobEntry.pending(job) for job in jobs),
            device=config.device,  # type: ignore[arg-type]  # checked by the CLI (harness.devices)
        )

    def run_config(self, base: RunConfig, results: Path) -> RunConfig:
        """The configuration that resumes this run: what it trains (matrix, spec, data, target) as recorded
        here (the device too: a run does not change device halfway); how to execute it (threads, timeout,
        executor) from ``base``, the resuming command's."""
        return RunConfig(
            spec=self.spec,
            backends=self.matrix.backends,
            cells=self.matrix.cells,
            seeds=self.matrix.seeds,
            mode=self.matrix.mode,
            data=self.data_request.data,
            threads=base.threads,
            target_acc=self.target_acc,
            results=results,
            name=self.name,
            train_limit=self.data_request.train_limit,
            test_limit=self.data_request.test_limit,
            timeout_s=base.timeout_s,
            command=self.command,
            backend_extra=dict(self.backend_extra),
            executor=base.executor,
            device=self.device,
        )

    def planned_jobs(self) -> list[Job]:
        return [Job(j.backend, j.cell, j.seed, self.matrix.mode) for j in self.jobs]

    def entry(self, job_id: str) -> JobEntry:
        return next(j for j in self.jobs if j.job_id == job_id)

    def with_job(self, job_id: str, **changes: Any) -> Manifest:
        jobs = tuple(replace(j, **changes) if j.job_id == job_id else j for j in self.jobs)
        return replace(self, jobs=jobs, updated_at=now())

    def with_session(self, session: Session) -> Manifest:
        return replace(self, sessions=(*self.sessions, session), updated_at=now())

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "schema_version": self.schema_version, **_dump(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """From a current-version dict that ``MANIFEST_SCHEMA`` accepts (``upgrade`` makes one)."""
        return _load(cls, data)


def session_of(config: RunConfig, host: str | None) -> Session:
    ex = config.executor
    return Session(now(), config.command, host, ex.kind, ex.scheduler, ex.parallel, ex.accuracy_only)


# ---- format history ----------------------------------------------------------------------------------


def _v1_to_v2(old: dict[str, Any]) -> dict[str, Any]:
    m = {"data_request": {"data": None, "train_limit": None, "test_limit": None}, "backend_extra": {}, **old}
    m["sessions"] = [
        {
            "started_at": old.get("created_at"),
            "command": old.get("command"),
            "host": None,
            "executor": "local",  # the only executor there was
            "scheduler": None,
            "parallel": None,
            "accuracy_only": False,
        }
    ]
    jobs = old.get("jobs")
    if isinstance(jobs, list):
        defaults = {"error": None, "wall_s": None, "runner_cpu_s": None}
        m["jobs"] = [_v1_job_to_v2({**defaults, **j}) if isinstance(j, dict) else j for j in jobs]
    m["schema_version"] = 2
    return m


def _v1_job_to_v2(job: dict[str, Any]) -> dict[str, Any]:
    # A job that wrote no record may name none; its record's place is fixed by its id all the same.
    record = job.get("record") or f"jobs/{job.get('job_id')}.json"
    return {**job, "record": record, "host": None}


def _v2_to_v3(old: dict[str, Any]) -> dict[str, Any]:
    return {**old, "device": "cpu", "schema_version": 3}  # every run before --device trained on the CPU


#: version -> the function that turns a manifest of that version into one of the next version.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}


def upgrade(raw: Any, where: str | Path) -> dict[str, Any]:
    """A manifest's JSON of any known version as the current version, validated; BenchError (one line)
    when it is not a manifest, is of a newer version, or is invalid."""
    if not isinstance(raw, dict) or raw.get("kind") != RUN_KIND:
        raise BenchError(f"{where} is not an rnn-bench run manifest")
    version = raw.get("schema_version")
    if type(version) is not int or not 1 <= version <= MANIFEST_SCHEMA_VERSION:
        raise BenchError(
            f"run manifest {where} has schema version {version!r}; this rnn-bench reads versions 1 to "
            f"{MANIFEST_SCHEMA_VERSION}: use the rnn-bench version that wrote it (or a newer one)"
        )
    while version < MANIFEST_SCHEMA_VERSION:
        raw = MIGRATIONS[version](raw)
        version += 1
    problems = validate_manifest(raw)
    if problems:
        raise BenchError(f"run manifest {where} is invalid ({problems[0]}); it was edited or damaged: start a new run")
    return raw


def read_manifest_json(path: str | Path) -> dict[str, Any]:
    """The manifest at ``path`` as plain JSON of the current version (for readers that want a dict)."""
    return upgrade(read_json(path, "run manifest"), path)


def read_manifest(path: str | Path) -> Manifest:
    data = read_manifest_json(path)
    try:
        return Manifest.from_dict(data)
    except BenchError as err:  # e.g. a spec that no longer validates
        raise BenchError(f"run manifest {path}: {err}") from None


def validate_manifest(data: Any) -> list[str]:
    """Every schema violation as one readable line (empty list: valid)."""
    import jsonschema  # lazily: only readers need it

    validator = jsonschema.Draft202012Validator(manifest_schema())
    return [
        f"{'/'.join(map(str, err.absolute_path)) or '<root>'}: {err.message}"
        for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    ]


# ---- the schema and the conversions, derived from the dataclasses -------------------------------------

_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


@cache
def manifest_schema() -> dict[str, Any]:
    schema = _schema(Manifest)
    schema["properties"] = {
        "kind": {"const": RUN_KIND},
        "schema_version": {"const": MANIFEST_SCHEMA_VERSION},
        **schema["properties"],
    }
    schema["required"] = ["kind", "schema_version", *schema["required"]]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "rnn-bench run manifest", **schema}


def _schema(tp: Any) -> dict[str, Any]:
    origin, args = get_origin(tp), get_args(tp)
    if tp in _JSON_TYPES:
        return {"type": _JSON_TYPES[tp]}
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (Union, types.UnionType):
        return {"anyOf": [_schema(a) for a in args]}
    if origin is tuple:
        return {"type": "array", "items": _schema(args[0])}
    if tp is Spec or origin is dict or tp is dict:
        return {"type": "object"}  # a Spec validates itself (Spec.from_dict) with better messages
    if is_dataclass(tp):
        hints = get_type_hints(tp)
        names = [f.name for f in fields(tp)]
        return {"type": "object", "required": names, "properties": {n: _schema(hints[n]) for n in names}}
    raise TypeError(f"no JSON schema for {tp!r}")


def _load(tp: Any, value: Any) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if value is None:
        return None
    if origin in (Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return _load(inner, value)
    if origin is tuple:
        return tuple(_load(args[0], v) for v in value)
    if tp is Spec:
        return Spec.from_dict(value)
    if is_dataclass(tp):
        hints = get_type_hints(tp)
        return tp(**{f.name: _load(hints[f.name], value[f.name]) for f in fields(tp)})
    if tp is float:
        return float(value)
    if origin is dict or tp is dict:
        return dict(value)
    return value


def _dump(value: Any) -> Any:
    if isinstance(value, Spec):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _dump(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_dump(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _dump(v) for k, v in value.items()}
    return value
