"""What one job is, and the task file the runner hands a worker process."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .atomic import write_json
from .records import job_id
from .spec import Spec

#: The first steps of a job pay for graph tracing/compilation and allocator warm-up (Keras' first step
#: takes seconds); they are recorded and flagged, and step-time statistics leave them out.
WARMUP_STEPS = 5
#: Default target for time-to-accuracy: the classic notebook's LSTM passes 0.85 validation accuracy within
#: a few epochs, so the figure exists for the cells that learn and is null for those that don't.
DEFAULT_TARGET_ACC = 0.85
#: Prefix of the progress lines a worker prints on stdout (anything else there is framework chatter).
EVENT_PREFIX = "@@rnn-bench "


@dataclass(frozen=True)
class Job:
    backend: str
    cell: str
    seed: int
    mode: str

    @property
    def job_id(self) -> str:
        return job_id(self.backend, self.cell, self.seed)


@dataclass(frozen=True)
class Task:
    """Everything a worker needs; written as JSON so the worker is a fresh process with no shared state."""

    job: Job
    spec: Spec  # the job's full spec (cell and seed filled in)
    run: str
    data_path: str  # the prepared dataset (.npz) every job of the run loads, on the host that runs the job
    data_fingerprint: str
    threads: int
    target_acc: float
    record_path: str  # where the worker writes its record; the executor hands it to the run folder
    command: str
    spawned_at: float  # time.time() when the runner started the process: start-up time is measured from it
    warmup_steps: int = WARMUP_STEPS
    backend_extra: dict[str, Any] = field(default_factory=dict)
    # How the job is executed (the record's ``execution`` object): set by the runner and its executor.
    executor: str = "local"
    shared_machine: bool = False
    cpus: tuple[int, ...] | None = None  # pin the worker to these CPUs (``--parallel``); None: not pinned
    device: str = "cpu"  # --device: cpu | gpu | auto (harness.devices); the engine resolves it

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["spec"] = self.spec.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        data = dict(data)
        data["job"] = Job(**data["job"])
        data["spec"] = Spec.from_dict(data["spec"])
        if data.get("cpus") is not None:
            data["cpus"] = tuple(data["cpus"])
        return cls(**data)

    def write(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def read(cls, path: str | Path) -> Task:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
