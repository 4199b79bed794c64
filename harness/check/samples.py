"""What a comparison needs from each job, read from a run folder: the common input of check and baseline.

A ``JobSample`` holds one job's identity, conditions and raw measurements (timed step times in order,
calibration timings, per-epoch metrics, test metrics). A run folder and a baseline file both load into a
``Side`` of such samples, so ``compare`` never knows (or cares) where the numbers came from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness import derive, inject
from harness.devices import device_kind
from harness.errors import BenchError
from harness.manifest import read_manifest_json
from harness.records import JobRecord, job_id, read_record, run_dirs


@dataclass(frozen=True)
class JobSample:
    backend: str
    cell: str
    seed: int
    status: str  # "ok" | "failed" | "timeout" | "interrupted" | "missing" (no record written)
    error: str | None = None
    mode: str | None = None
    spec: Mapping[str, Any] | None = None
    spec_hash: str | None = None
    data: Mapping[str, Any] | None = None
    environment: Mapping[str, Any] = field(default_factory=dict)
    device: str = "cpu"  # "cpu" or "gpu" (harness.devices.device_kind): where the job trained
    calibration: Mapping[str, list[float]] = field(default_factory=lambda: {"start_s": [], "end_s": []})
    busy: bool = False
    step_s: np.ndarray = field(default_factory=lambda: np.empty(0))  # timed steps only, in step order
    epochs: tuple[Mapping[str, Any], ...] = ()
    test: Mapping[str, Any] | None = None
    injected_slowdown: float = 0.0  # > 0: slowed on purpose by bench check calibrate, not a real measurement

    @property
    def job_id(self) -> str:
        return job_id(self.backend, self.cell, self.seed)

    @property
    def group(self) -> tuple[str, str]:
        return (self.backend, self.cell)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def fingerprint(self) -> str | None:
        return (self.data or {}).get("fingerprint")

    @property
    def calibration_s(self) -> list[float]:
        return [*self.calibration.get("start_s", []), *self.calibration.get("end_s", [])]

    @property
    def test_acc(self) -> float | None:
        return None if not self.test or self.test.get("acc") is None else float(self.test["acc"])

    @property
    def best_val_acc(self) -> float | None:
        accs = [float(e["val_acc"]) for e in self.epochs if e.get("val_acc") is not None]
        return max(accs) if accs else None


@dataclass(frozen=True)
class Side:
    """One side of a comparison: the jobs of one or more run folders or baseline files, pooled."""

    kind: str  # "run" | "baseline file" | "runs" (several sources)
    paths: tuple[Path, ...]
    name: str  # the run's name (a baseline file keeps the name of the run it was saved from); joined by ","
    jobs: tuple[JobSample, ...]

    @property
    def path(self) -> Path:
        return self.paths[0]


def pooled(sides: list[Side]) -> Side:
    """Several sides as one (several runs of the same code, e.g. interleaved with the other side's)."""
    if len(sides) == 1:
        return sides[0]
    kinds = {s.kind for s in sides}
    return Side(
        kinds.pop() + "s" if len(kinds) == 1 else "runs and baseline files",
        tuple(p for s in sides for p in s.paths),
        ",".join(s.name for s in sides),
        tuple(j for s in sides for j in s.jobs),
    )


def from_record(record: JobRecord) -> JobSample:
    return JobSample(
        backend=record.backend,
        cell=record.cell,
        seed=int(record.seed),
        status=record.status,
        error=record.error,
        mode=record.mode,
        spec=record.spec,
        spec_hash=record.spec_hash,
        data=dataclasses.asdict(record.data) if record.data else None,
        environment=dataclasses.asdict(record.environment),
        device=device_kind(record.runtime.get("device")),
        calibration={"start_s": list(record.calibration.start_s), "end_s": list(record.calibration.end_s)},
        busy=record.load.busy,
        step_s=derive.timed_steps(record),
        epochs=tuple(dataclasses.asdict(e) for e in record.epochs),
        test=dataclasses.asdict(record.test) if record.test else None,
        injected_slowdown=inject.recorded_fraction(record.runtime),
    )


def load_run(run_dir: Path) -> Side:
    """Every job of a run folder, as its manifest lists them; a job without a record is "missing"."""
    manifest = read_manifest(run_dir)
    jobs = []
    for entry in manifest.get("jobs") or []:
        path = run_dir / (entry.get("record") or f"jobs/{entry['job_id']}.json")
        if path.is_file():
            jobs.append(from_record(read_record(path)))
        else:
            jobs.append(
                JobSample(
                    entry["backend"],
                    entry["cell"],
                    int(entry["seed"]),
                    status=entry.get("status") if entry.get("status") != "ok" else "missing",
                    error=entry.get("error") or "no job record written",
                )
            )
    return Side("run", (run_dir,), str(manifest.get("name") or run_dir.name), tuple(jobs))


def read_manifest(run_dir: Path) -> dict[str, Any]:
    if not (run_dir / "manifest.json").is_file():
        raise BenchError(f"{run_dir} is not a run folder (no manifest.json); pass a folder that bench run wrote")
    # Any manifest version this rnn-bench knows, migrated to the current one.
    return read_manifest_json(run_dir / "manifest.json")


def find_run(ref: str, results: str | Path) -> Path | None:
    """A run given as a folder path, or as a run name under ``results``; None when neither exists."""
    return next((p for p in (Path(ref), Path(results) / ref) if p.is_dir()), None)


def resolve_run(ref: str, results: str | Path, what: str = "run") -> Path:
    found = find_run(ref, results)
    if found is None:
        raise BenchError(f"{what} {ref} not found (neither a folder nor a run name under {results})")
    return found


def latest_run(results: str | Path) -> Path:
    runs = run_dirs(results)
    if not runs:
        raise BenchError(f"no runs under {results}; run bench run first, or pass --candidate RUN")
    return runs[-1]
