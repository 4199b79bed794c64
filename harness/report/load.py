"""Run folders -> tidy pandas frames (one row per job, per epoch, per step) plus what could not be read.

Every per-job number is derived here from the record's raw values through ``harness.derive`` and
``harness.stats`` (the definitions ``bench check`` uses too), never copied from the record's own summary
fields: "numbers are derived from raw values, never stored twice". Later modules only aggregate these frames.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import derive, stats
from harness.errors import BenchError
from harness.records import JobRecord, MachineLoad, iter_job_files, read_json, read_record
from harness.spec import shared_spec

_EPOCH_COLUMNS = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "train_s",
    "eval_s",
    "step_s",
    "overhead_s",
)
PROBLEM_COLUMNS = ["run", "job_id", "backend", "cell", "seed", "status", "reason"]


@dataclass(frozen=True)
class RunInfo:
    label: str  # the name shown in every table (the manifest's name, made unique)
    path: Path
    manifest: Mapping[str, Any] | None  # None when the manifest itself could not be read


@dataclass
class Loaded:
    runs: list[RunInfo]
    jobs: pd.DataFrame  # one row per completed job (status ok): identity, conditions, derived metrics
    epochs: pd.DataFrame  # one row per (job, epoch)
    steps: pd.DataFrame  # one row per (job, training step): the raw series
    problems: pd.DataFrame  # failed, missing or unreadable jobs: listed, never dropped silently
    warnings: list[str] = field(default_factory=list)  # one line each (corrupt files, unreadable manifests)


def load_runs(run_paths: Iterable[Path]) -> Loaded:
    runs: list[RunInfo] = []
    job_rows: list[dict[str, Any]] = []
    epoch_frames: list[pd.DataFrame] = []
    step_frames: list[pd.DataFrame] = []
    problems: list[dict[str, Any]] = []
    warnings: list[str] = []
    used_labels: set[str] = set()
    for path in run_paths:
        manifest = _read_manifest(path, warnings)
        label = _unique_label(str((manifest or {}).get("name") or path.name), used_labels)
        runs.append(RunInfo(label, path, manifest))
        records, unreadable = _read_records(path, warnings)
        for record in records:
            if not record.ok:
                identity = {
                    "job_id": record.job_id,
                    "backend": record.backend,
                    "cell": record.cell,
                    "seed": record.seed,
                }
                problems.append(_problem(label, identity, record.status, record.error or "no error recorded"))
                continue
            job_rows.append(job_row(record, label))
            epoch_frames.append(epoch_frame(record, label))
            step_frames.append(step_frame(record, label))
        problems.extend(_missing_jobs(label, manifest, {r.job_id for r in records}, unreadable))
    return Loaded(
        runs=runs,
        jobs=pd.DataFrame(job_rows),
        epochs=_concat(epoch_frames),
        steps=_concat(step_frames),
        problems=pd.DataFrame(problems, columns=PROBLEM_COLUMNS),
        warnings=warnings,
    )


# -- one record -> rows ---------------------------------------------------------------------------


def job_row(record: JobRecord, run: str) -> dict[str, Any]:
    """Identity, conditions and every per-job metric of the summary, derived from raw values."""
    epochs = record.epochs
    val_accs = np.array([e.val_acc for e in epochs], dtype=float)
    steps_ms = stats.summarize(derive.timed_steps(record) * 1000.0)
    env = record.environment
    best = int(np.argmax(val_accs)) if val_accs.size else None  # first epoch reaching the maximum
    return {
        **_identity(record, run),
        # -- the summary's metrics (names = summary.csv columns) --
        "test_acc": record.test.acc if record.test else None,
        "test_loss": record.test.loss if record.test else None,
        "best_val_acc": float(val_accs[best]) if best is not None else None,
        "best_epoch": epochs[best].epoch if best is not None else None,
        "final_val_acc": float(val_accs[-1]) if val_accs.size else None,
        "step_ms_median": steps_ms.median,
        "step_ms_p10": steps_ms.p10,
        "step_ms_p90": steps_ms.p90,
        "samples_per_s": derive.throughput(record),
        "train_s": float(sum(e.train_s for e in epochs)),
        "time_to_acc_s": derive.time_to_accuracy(epochs, record.target_acc),
        "first_step_s": record.first_step_s,
        "peak_rss_mb": record.peak_rss_mb,
        "peak_device_mb": record.peak_device_mb,
        "params": record.params,
        # -- what the reader must know to trust the numbers --
        "timed_steps": steps_ms.n,
        "epochs_done": len(epochs),
        "target_acc": record.target_acc,
        "overhead_share": derive.harness_overhead_share(record),
        "busy": record.load.busy,
        "other_cpu_max": _max_other_cpu(record.load),
        "spec_hash": record.spec_hash,
        "spec_key": spec_key(record.spec),
        "spec_json": json.dumps(shared_spec(record.spec), sort_keys=True),
        "data_source": record.data.source if record.data else None,
        "data_fingerprint": record.data.fingerprint if record.data else None,
        "weights_fingerprint": record.weights_fingerprint,
        "batch_order_hash": record.batch_order_hash,
        "hostname": env.hostname,
        "cpu_model": env.cpu_model,
        "cores": env.cores,
        "threads": env.threads,
        "os": env.os,
        "python": env.python,
        "frameworks": ", ".join(f"{k} {v}" for k, v in sorted(env.frameworks.items())) or "-",
        "git_commit": env.git_commit,
        "git_dirty": env.git_dirty,
        "started_at": env.started_at,
        "epochs_to_acc": _epochs_to_accuracy(val_accs, record.target_acc),
        **runtime_facts(record),
        **execution_facts(record),
    }


#: Runtime facts the report shows (the backends' ``runtime_info``), as job-row columns. Records from before
#: the engines' runtime contract lack them: those columns are None ("–" in the report).
RUNTIME_FACTS = ("engine", "parity_group", "kernel_path", "xla", "flush_denormal", "device", "tf32")
COMPILE_FACTS = {
    "setting": "compile_setting",
    "graphs": "graphs",
    "graph_breaks": "graph_breaks",
    "compile_s": "compile_s",
}


def runtime_facts(record: JobRecord) -> dict[str, Any]:
    runtime = record.runtime
    compiled = _object(runtime.get("compile"))
    return {
        **{key: runtime.get(key) for key in RUNTIME_FACTS},
        **{column: compiled.get(key) for key, column in COMPILE_FACTS.items()},
    }


def execution_facts(record: JobRecord) -> dict[str, Any]:
    """Where and how the job ran (records of version 1 were migrated to one job at a time, locally)."""
    env, execution = record.environment, record.execution
    gpu = env.gpu.name if env.gpu is not None else None
    return {
        "executor": execution.executor,
        "host": execution.host or env.hostname,
        "shared_machine": execution.shared_machine,
        "cpus": ",".join(map(str, execution.cpus)) if execution.cpus is not None else None,
        "gpu": gpu or None,
        # Step times compare only between jobs on the same kind of host: same CPU model and GPU.
        "host_kind": env.cpu_model + (f" + {gpu}" if gpu else ""),
    }


def epoch_frame(record: JobRecord, run: str) -> pd.DataFrame:
    frame = pd.DataFrame([dataclasses.asdict(e) for e in record.epochs], columns=list(_EPOCH_COLUMNS))
    # Training wall-clock at the end of each epoch: the x axis of "accuracy against time".
    frame["elapsed_train_s"] = frame["train_s"].cumsum()
    return _with_identity(frame, record, run)


def step_frame(record: JobRecord, run: str) -> pd.DataFrame:
    steps = record.steps
    frame = pd.DataFrame(
        {
            "step": np.arange(len(steps)),
            "epoch": np.asarray(steps.epoch, dtype=int),
            "time_ms": np.asarray(steps.time_s, dtype=float) * 1000.0,
            "size": np.asarray(steps.size, dtype=int),
            "warmup": np.asarray(steps.warmup, dtype=bool),
            # The one definition of "counts for step-time statistics" (warm-up and partial batches out).
            "timed": derive.timed_step_mask(record),
            "loss": np.asarray(steps.loss, dtype=float),
            "acc": np.asarray(steps.acc, dtype=float),
        }
    )
    return _with_identity(frame, record, run)


def spec_key(spec: Mapping[str, Any]) -> str:
    """Short hash of ``shared_spec``: equal for every job of one comparable matrix."""
    return hashlib.sha256(json.dumps(shared_spec(spec), sort_keys=True).encode()).hexdigest()[:12]


# -- helpers ----------------------------------------------------------------------------------------


def _identity(record: JobRecord, run: str) -> dict[str, Any]:
    return {
        "run": run,
        "job_id": record.job_id,
        "backend": record.backend,
        "cell": record.cell,
        "seed": record.seed,
        "mode": record.mode,
    }


def _with_identity(frame: pd.DataFrame, record: JobRecord, run: str) -> pd.DataFrame:
    identity = _identity(record, run)
    return frame.assign(**identity)[[*identity, *frame.columns]]


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _epochs_to_accuracy(val_accs: np.ndarray, target: float) -> int | None:
    """The first epoch (1-based) whose validation accuracy reached the target: valid whatever the machine
    was doing, unlike the seconds it took."""
    reached = np.flatnonzero(val_accs >= target)
    return int(reached[0]) + 1 if reached.size else None


def _max_other_cpu(load: MachineLoad) -> float | None:
    values = [s.other_cpu for s in (load.start, load.end) if s and s.other_cpu is not None]
    return max(values) if values else None


def _read_manifest(path: Path, warnings: list[str]) -> dict[str, Any] | None:
    try:
        manifest = read_json(path / "manifest.json", "run manifest")
    except BenchError as err:
        warnings.append(f"{err}; reporting the job files found in {path / 'jobs'}")
        return None
    if not isinstance(manifest, dict):
        warnings.append(f"run manifest {path / 'manifest.json'} is not a JSON object; ignoring it")
        return None
    return manifest


def _read_records(path: Path, warnings: list[str]) -> tuple[list[JobRecord], dict[str, str]]:
    """Valid records, and {job_id (file stem): reason} for files that could not be read (skipped, reported)."""
    records: list[JobRecord] = []
    unreadable: dict[str, str] = {}
    for file in iter_job_files(path):
        try:
            records.append(read_record(file))
        except BenchError as err:
            warnings.append(f"skipped {err}")
            unreadable[file.stem] = str(err)
    return records, unreadable


def _missing_jobs(
    run: str, manifest: Mapping[str, Any] | None, found: set[str], unreadable: dict[str, str]
) -> list[dict[str, Any]]:
    rows = []
    listed = {}
    for job in (manifest or {}).get("jobs") or []:
        if isinstance(job, dict) and "job_id" in job:
            listed[job["job_id"]] = job
    for jid, job in listed.items():
        if jid in found:
            continue
        if jid in unreadable:
            reason = "record unreadable: " + unreadable[jid]
            status = "unreadable"
        else:
            status = str(job.get("status") or "missing")
            reason = job.get("error") or (
                "no record file"
                if status in ("ok", "failed", "timeout", "interrupted")
                else f"never finished (status {status})"
            )
        rows.append(_problem(run, job, status, reason))
    for jid, reason in unreadable.items():
        if jid not in listed:  # a job file the manifest does not know about (or no manifest at all)
            rows.append(
                {
                    "run": run,
                    "job_id": jid,
                    "backend": None,
                    "cell": None,
                    "seed": None,
                    "status": "unreadable",
                    "reason": "record unreadable: " + reason,
                }
            )
    return rows


def _problem(run: str, job: Mapping[str, Any], status: str, reason: str) -> dict[str, Any]:
    return {
        "run": run,
        "job_id": job.get("job_id"),
        "backend": job.get("backend"),
        "cell": job.get("cell"),
        "seed": job.get("seed"),
        "status": status,
        "reason": reason,
    }


def _unique_label(name: str, used: set[str]) -> str:
    label, k = name, 2
    while label in used:  # two runs with the same name (e.g. from two machines' results folders)
        label, k = f"{name}#{k}", k + 1
    used.add(label)
    return label
