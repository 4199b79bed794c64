from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from harness.atomic import write_json
from harness.errors import BenchError
from harness.records import (
    RECORD_SCHEMA,
    RECORD_SCHEMA_VERSION,
    Calibration,
    DataIdentity,
    Environment,
    EpochRecord,
    Execution,
    GpuInfo,
    JobRecord,
    MachineLoad,
    Metrics,
    StepSeries,
    migrate,
    read_record,
    validate_record,
    write_record,
)
from tests.fixtures.factory import make_record

#: A record as rnn-bench wrote it before typed records (schema version 1), frozen to test the migration.
V1_FIXTURE = Path(__file__).parent / "fixtures" / "records" / "v1-keras-lstm-s0.json"


def test_factory_records_validate_and_round_trip(tmp_path):
    data = make_record("torch", "gru", 1)
    assert validate_record(data) == []
    record = JobRecord.from_dict(data)
    assert isinstance(record.epochs[0], EpochRecord) and isinstance(record.execution, Execution)
    assert record.to_dict() == data
    write_record(tmp_path / "r.json", record)
    assert read_record(tmp_path / "r.json") == record


def _schema_objects(schema: dict) -> dict:
    """The object schemas a record nests: property name -> its object schema (through oneOf and arrays)."""
    if schema.get("type") == "array":
        return _schema_objects(schema.get("items", {}))
    for option in schema.get("oneOf", []):
        if option.get("type") == "object":
            return option
    return schema


@pytest.mark.parametrize(
    "cls, schema",
    [
        (JobRecord, RECORD_SCHEMA),
        *[
            (hint, _schema_objects(RECORD_SCHEMA["properties"][name]))
            for name, hint in [
                ("data", DataIdentity),
                ("epochs", EpochRecord),
                ("steps", StepSeries),
                ("test", Metrics),
                ("calibration", Calibration),
                ("load", MachineLoad),
                ("environment", Environment),
                ("execution", Execution),
            ]
        ],
        (GpuInfo, _schema_objects(RECORD_SCHEMA["properties"]["environment"]["properties"]["gpu"])),
    ],
)
def test_schema_and_dataclasses_name_the_same_fields(cls, schema):
    fields = {f.name for f in dataclasses.fields(cls)}
    assert set(schema["properties"]) == fields
    # What the dataclass cannot leave out without a default is what the schema requires (and more: the
    # schema requires every field, the dataclass gives defaults to fill a record as a job progresses).
    assert set(schema["required"]) <= fields


def test_a_version_1_record_is_migrated_on_read(tmp_path):
    """Version 1 (before typed records) lacked ``execution`` and, before 2026-11-27, the per-epoch CPU fields."""
    v1 = json.loads(V1_FIXTURE.read_text())
    assert v1["schema_version"] == 1 and "execution" not in v1 and "cpu_sys_s" not in v1["epochs"][0]
    record = read_record(V1_FIXTURE)
    assert record.schema_version == RECORD_SCHEMA_VERSION
    assert record.execution == Execution("local", v1["environment"]["hostname"], False, None)
    assert "weights_fingerprint_built" not in v1 and record.weights_fingerprint_built is None
    assert record.epochs[0].cpu_sys_s is None and record.epochs[0].val_acc == v1["epochs"][0]["val_acc"]
    assert record.steps.time_s == v1["steps"]["time_s"]
    # Version 1 ran on the CPU: no GPU, no device memory.
    assert record.environment.gpu is None and record.peak_device_mb is None
    assert migrate(dict(v1)) == record.to_dict()


#: A GPU as the worker records it (the framework's facts, nvidia-smi's driver).
GPU = {
    "name": "NVIDIA H200",
    "compute_capability": "9.0",
    "memory_mb": 143771.0,
    "driver": "575.57.08",
    "cuda": "13.0",
    "cudnn": "9.10.2",
}


def test_a_gpu_job_record_round_trips_typed(tmp_path):
    data = make_record(runtime={"device": "cuda:0", "device_requested": "gpu", "tf32": False})
    data["environment"]["gpu"] = dict(GPU)
    data["peak_device_mb"] = 812.5
    assert validate_record(data) == []
    write_json(tmp_path / "r.json", data)
    record = read_record(tmp_path / "r.json")
    assert record.environment.gpu == GpuInfo(**GPU) and record.peak_device_mb == 812.5
    assert record.to_dict() == data


def test_a_version_2_record_from_before_gpus_reads_as_cpu(tmp_path):
    """Version 2 records written before GPU support lack peak_device_mb and environment.gpu: null."""
    data = make_record()
    del data["peak_device_mb"], data["environment"]["gpu"]
    write_json(tmp_path / "r.json", data)
    record = read_record(tmp_path / "r.json")
    assert record.peak_device_mb is None and record.environment.gpu is None


def test_an_unknown_version_is_refused_with_the_versions_this_reads(tmp_path):
    data = make_record()
    data["schema_version"] = 0
    write_json(tmp_path / "v0.json", data)
    with pytest.raises(BenchError, match=r"schema version 0; this rnn-bench reads versions 1 to 2"):
        read_record(tmp_path / "v0.json")


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda r: r.pop("steps"), "'steps' is a required property"),
        (lambda r: r.update(status="done"), "status: 'done' is not one of"),
        (lambda r: r["steps"]["time_s"].pop(), "columns have different lengths"),
        (lambda r: r["steps"]["warmup"].__setitem__(0, 1), "steps/warmup"),
        (lambda r: r["epochs"][0].pop("val_acc"), "val_acc"),
        (lambda r: r["environment"].update(gpu={"driver": "575"}), "environment/gpu"),
        (lambda r: r.update(peak_device_mb="812 MiB"), "peak_device_mb"),
    ],
)
def test_schema_catches_broken_records(mutate, needle):
    record = make_record()
    mutate(record)
    problems = validate_record(record)
    assert problems and any(needle in p for p in problems), problems


def test_invalid_record_is_never_written(tmp_path):
    record = JobRecord.from_dict(make_record())
    record.status = "bogus"
    with pytest.raises(
        ValueError, match=r"refusing to write an invalid job record .*r\.json: status: 'bogus' is not one of"
    ):
        write_record(tmp_path / "r.json", record)
    assert not (tmp_path / "r.json").exists()


def test_an_ok_matched_record_cannot_hold_other_weights_than_intended():
    record = make_record(mode="matched")
    record["weights_fingerprint_built"] = "d" * 64
    assert validate_record(record) == [
        "weights_fingerprint_built: differs from weights_fingerprint in an ok matched-mode record"
    ]
    record["status"], record["error"] = "failed", "backend 'x' does not hold the initial weights it was given"
    assert validate_record(record) == []  # the failed job that says why is a valid record
    native = make_record(mode="native")
    assert native["weights_fingerprint"] is None and validate_record(native) == []


def test_truncated_or_foreign_files_give_one_line_errors(tmp_path):
    good = json.dumps(make_record())
    (tmp_path / "trunc.json").write_text(good[: len(good) // 2])
    with pytest.raises(BenchError, match="not valid JSON .* truncated"):
        read_record(tmp_path / "trunc.json")
    other = make_record()
    other["schema_version"] = 99
    write_json(tmp_path / "v99.json", other)
    with pytest.raises(BenchError, match="schema version 99"):
        read_record(tmp_path / "v99.json")
    with pytest.raises(BenchError, match="not found"):
        read_record(tmp_path / "missing.json")


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path):
    target = tmp_path / "r.json"
    write_json(target, {"v": 1})

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        from harness.atomic import atomic_open

        with atomic_open(target) as handle:
            handle.write('{"v": 2, "half')
            raise Boom()
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary left behind
    # mkstemp makes 0600; the record gets what a plain open() would give it under this umask
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask
