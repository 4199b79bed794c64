"""A run folder: ``manifest.json``, ``jobs/`` (one record per job), ``logs/``, ``tasks/`` (the task files
handed to local workers) and the prepared data (``data.npz``) while some job still needs it.

Only the process that owns the run (``bench run``) writes here, each file atomically, whichever executor
ran the job: records come back from the executor and are validated before they are written.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from .atomic import ensure_writable_dir, write_json, write_text
from .errors import BenchError
from .executors.process import JobFiles
from .jobs import Job
from .manifest import Manifest, Session, read_manifest
from .records import JobRecord, parse_record, read_record, write_record

PREPARED_FILE = "data.npz"
MANIFEST_FILE = "manifest.json"


def default_run_name() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


class InvalidRecord(Exception):
    """A worker sent back a record that does not validate: the job failed, nothing is written."""


class RunFolder:
    def __init__(self, path: Path, manifest: Manifest):
        self.path = path
        self.manifest = manifest

    @classmethod
    def check_new(cls, results: Path, name: str) -> Path:
        """The folder a new run ``name`` would get; fails now (before any long work) if it cannot."""
        results = ensure_writable_dir(results, "results folder")
        path = results / name
        if (path / MANIFEST_FILE).exists():
            raise BenchError(
                f"run {name!r} already exists in {results}; resume it with --resume {name} or pick another --name"
            )
        return path

    @classmethod
    def create(cls, path: Path, manifest: Manifest) -> RunFolder:
        folder = cls(path, manifest)
        folder.save()
        return folder

    @classmethod
    def open(cls, results: Path, name: str) -> RunFolder:
        """An existing run, given as a folder or as a name under ``results``; older manifests are migrated."""
        path = Path(name) if Path(name).is_dir() else Path(results) / name
        manifest = read_manifest(path / MANIFEST_FILE)
        ensure_writable_dir(path, "run folder")
        return cls(path, manifest)

    @property
    def name(self) -> str:
        return self.manifest.name

    def save(self) -> None:
        write_json(self.path / MANIFEST_FILE, self.manifest.to_dict())

    def update_job(self, job_id: str, **changes: Any) -> None:
        self.manifest = self.manifest.with_job(job_id, **changes)
        self.save()

    def add_session(self, session: Session) -> None:
        self.manifest = self.manifest.with_session(session)
        self.save()

    def jobs(self) -> list[Job]:
        return self.manifest.planned_jobs()

    def finished_ok(self, job: Job) -> bool:
        """A job counts as done only if the manifest says ok AND its record reads back valid and ok."""
        entry = self.manifest.entry(job.job_id)
        if entry.status != "ok":
            return False
        try:
            return read_record(self.path / entry.record).ok
        except BenchError:
            return False

    def record_path(self, job_id: str) -> Path:
        return self.path / self.manifest.entry(job_id).record

    def log_name(self, job_id: str) -> str:
        return f"logs/{job_id}.log"

    def job_files(self, job: Job) -> JobFiles:
        """Where a worker on this machine keeps the job's files: its log straight in the run folder; its
        task file and the record it writes (before the runner validates and stores it) under tasks/."""
        tasks = self.path / "tasks"
        return JobFiles(
            task=tasks / f"{job.job_id}.json",
            record=tasks / f"{job.job_id}.record.json",
            log=self.path / self.log_name(job.job_id),
            log_name=f"{self.log_name(job.job_id)} in {self.path}",
        )

    def write_record(self, job_id: str, record: dict[str, Any]) -> JobRecord:
        """Validate a record as its worker wrote it and store it; the typed record, or InvalidRecord."""
        try:
            parsed = parse_record(record, f"the record of {job_id}")
        except BenchError as err:
            raise InvalidRecord(str(err)) from None
        write_record(self.record_path(job_id), parsed)
        return parsed

    def write_log(self, job_id: str, text: str) -> None:
        write_text(self.path / self.log_name(job_id), text)

    @property
    def prepared_path(self) -> Path:
        return self.path / PREPARED_FILE

    def write_prepared(self, ds: Any) -> Path:
        from .data import save_prepared

        if not self.prepared_path.exists():
            save_prepared(ds, self.prepared_path)
        return self.prepared_path

    def remove_prepared(self) -> None:
        self.prepared_path.unlink(missing_ok=True)  # prepared arrays are only needed to resume
