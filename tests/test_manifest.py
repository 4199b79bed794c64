"""The run manifest: one constructor, one reader, a schema derived from the dataclasses, and the migration
of older manifests (the committed fixture runs are version 1)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from harness.errors import BenchError
from harness.executors.base import ExecutorConfig
from harness.manifest import (
    JOB_STATUSES,
    MANIFEST_SCHEMA_VERSION,
    JobEntry,
    Manifest,
    manifest_schema,
    read_manifest,
    read_manifest_json,
    session_of,
    validate_manifest,
)
from harness.plan import RunConfig
from harness.records import STATUSES
from harness.spec import Spec
from tests.tiny_runs import tiny_config

FIXTURE_RUNS = Path(__file__).resolve().parent / "fixtures" / "runs"
DATA = {"source": "synthetic", "source_hash": "0" * 64, "fingerprint": "f" * 64, "n_train": 8, "n_val": 2, "n_test": 4}


def config(tmp_path: Path, **changes) -> RunConfig:
    base = dict(
        spec=Spec(epochs=2, maxlen=20),
        backends=("keras", "torch"),
        cells=("lstm", "gru"),
        seeds=(0, 1),
        mode="matched",
        data="synthetic:train=8,test=4",
        threads=2,
        target_acc=0.7,
        results=tmp_path,
        name="m",
        train_limit=6,
        timeout_s=30.0,
        command="bench run --seeds 0-1",
        backend_extra={"knob": 1},
        executor=ExecutorConfig("dask", scheduler="tcp://h:8786", accuracy_only=True),
        device="auto",
    )
    base.update(changes)
    return RunConfig(**base)


def test_a_new_manifest_validates_and_reads_back_equal(tmp_path):
    manifest = Manifest.new(config(tmp_path), "m", DATA, session_of(config(tmp_path), "client-host"))
    data = manifest.to_dict()
    assert data["kind"] == "rnn-bench/run" and data["schema_version"] == MANIFEST_SCHEMA_VERSION
    assert validate_manifest(data) == []
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    assert read_manifest(path) == manifest
    # Cell-major plan: both backends of a cell and seed run back to back.
    assert [j.job_id for j in manifest.jobs][:4] == ["keras-lstm-s0", "torch-lstm-s0", "keras-lstm-s1", "torch-lstm-s1"]
    assert {j.status for j in manifest.jobs} == {"pending"}
    (session,) = manifest.sessions
    assert (session.executor, session.scheduler, session.accuracy_only, session.host) == (
        "dask",
        "tcp://h:8786",
        True,
        "client-host",
    )


def test_the_run_config_mapping_round_trips(tmp_path):
    original = config(tmp_path)
    manifest = Manifest.new(original, "m", DATA, session_of(original, None))
    assert manifest.device == "auto"
    # How to execute comes from the resuming command; what to train from the manifest (the device too).
    resuming = config(
        tmp_path, threads=1, timeout_s=None, executor=ExecutorConfig(), spec=Spec(), seeds=(9,), device="cpu"
    )
    back = manifest.run_config(resuming, tmp_path)
    assert back == dataclasses.replace(original, threads=1, timeout_s=None, executor=ExecutorConfig())


def test_the_schema_is_derived_from_the_dataclasses():
    schema = manifest_schema()
    fields = [f.name for f in dataclasses.fields(Manifest)]
    assert schema["required"] == ["kind", "schema_version", *fields]
    job = schema["properties"]["jobs"]["items"]
    assert job["required"] == [f.name for f in dataclasses.fields(JobEntry)]
    assert job["properties"]["status"] == {"enum": list(JOB_STATUSES)}
    assert set(STATUSES) < set(JOB_STATUSES)  # every final status of a record, plus pending and running


def test_every_committed_version_1_run_reads_through_the_migration():
    paths = sorted(FIXTURE_RUNS.glob("*/*/manifest.json"))
    assert paths
    for path in paths:
        before = path.read_bytes()
        raw = json.loads(before)
        assert raw["schema_version"] == 1
        manifest = read_manifest(path)
        assert manifest.name == raw["name"] and len(manifest.jobs) == len(raw["jobs"])
        assert [j.status for j in manifest.jobs] == [j["status"] for j in raw["jobs"]]
        (session,) = manifest.sessions
        assert session.executor == "local" and session.started_at == raw["created_at"]
        assert all(j.host is None for j in manifest.jobs)
        assert manifest.device == "cpu"  # every run before --device trained on the CPU
        assert path.read_bytes() == before  # reading never rewrites


def test_a_version_2_manifest_reads_with_the_cpu_device(tmp_path):
    manifest = Manifest.new(config(tmp_path), "m", DATA, session_of(config(tmp_path), "h"))
    v2 = manifest.to_dict()
    del v2["device"]
    v2["schema_version"] = 2
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(v2))
    assert read_manifest(path) == dataclasses.replace(manifest, device="cpu")


def test_a_manifest_with_an_unknown_device_is_refused(tmp_path):
    data = Manifest.new(config(tmp_path), "m", DATA, session_of(config(tmp_path), "h")).to_dict()
    data["device"] = "tpu"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BenchError, match="invalid \\(device: 'tpu' is not one of"):
        read_manifest_json(path)


def test_a_version_1_run_resumes_and_is_saved_as_the_current_version(tmp_path, test_backends):
    from harness.progress import LineProgress
    from harness.runner import start

    cfg = tiny_config(
        tmp_path,
        backends=("numpy-fake",),
        cells=("lstm",),
        seeds=(0, 1),
        name="old",
        executor=ExecutorConfig(accuracy_only=True),
    )
    run, _ = start(cfg, LineProgress)
    # Turn it into what the previous rnn-bench wrote, with its second job never run.
    path = run.path / "manifest.json"
    v1 = json.loads(path.read_text())
    del v1["sessions"]
    for job in v1["jobs"]:
        del job["host"]
    v1["jobs"][1]["status"] = "pending"
    v1["schema_version"] = 1
    path.write_text(json.dumps(v1))
    (run.path / "jobs" / "numpy-fake-lstm-s1.json").unlink()

    resumed, statuses = start(dataclasses.replace(cfg, data=None), LineProgress, resume=str(run.path))
    assert resumed.manifest.data_request.data == cfg.data  # the data as recorded, not the resuming command's
    assert statuses == {"numpy-fake-lstm-s1": "ok"}
    saved = json.loads(path.read_text())
    assert saved["schema_version"] == MANIFEST_SCHEMA_VERSION and validate_manifest(saved) == []
    assert [s["executor"] for s in saved["sessions"]] == ["local", "local"]
    assert saved["jobs"][1]["host"] and saved["jobs"][0]["host"] is None  # the older job's host is unknown


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"schema_version": 99}, "schema version 99; this rnn-bench reads versions 1 to"),
        ({"kind": "something"}, "is not an rnn-bench run manifest"),
        ({"threads": "two"}, "invalid (threads: 'two' is not of type 'integer')"),
    ],
)
def test_a_manifest_it_cannot_read_is_a_one_line_error(tmp_path, change, needle):
    data = json.loads((FIXTURE_RUNS / "report" / "basic" / "manifest.json").read_text())
    data.update(change)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BenchError) as err:
        read_manifest_json(path)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_an_unknown_job_status_is_caught():
    data = Manifest.new(config(Path(".")), "m", DATA, session_of(config(Path(".")), None)).to_dict()
    data["jobs"][0]["status"] = "done"
    assert any(p.startswith("jobs/0/status") for p in validate_manifest(data))
