from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.atomic import write_json
from harness.errors import BenchError
from harness.records import read_record, validate_record, write_record
from tests.fixtures.factory import make_record

FIXTURES = Path(__file__).parent / "fixtures"


def test_factory_records_validate_and_round_trip(tmp_path):
    record = make_record("torch", "gru", 1)
    assert validate_record(record) == []
    write_record(tmp_path / "r.json", record)
    assert read_record(tmp_path / "r.json") == record


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda r: r.pop("steps"), "'steps' is a required property"),
        (lambda r: r.update(status="done"), "status: 'done' is not one of"),
        (lambda r: r["steps"]["time_s"].pop(), "columns have different lengths"),
        (lambda r: r["steps"]["warmup"].__setitem__(0, 1), "steps/warmup"),
        (lambda r: r["epochs"][0].pop("val_acc"), "val_acc"),
    ],
)
def test_schema_catches_broken_records(mutate, needle):
    record = make_record()
    mutate(record)
    problems = validate_record(record)
    assert problems and any(needle in p for p in problems), problems


def test_invalid_record_is_never_written(tmp_path):
    record = make_record()
    record["status"] = "bogus"
    with pytest.raises(
        ValueError, match=r"refusing to write an invalid job record .*r\.json: status: 'bogus' is not one of"
    ):
        write_record(tmp_path / "r.json", record)
    assert not (tmp_path / "r.json").exists()


def test_old_records_without_the_built_fingerprint_still_read():
    """Records written before weights_fingerprint_built existed (the committed fixtures) stay readable."""
    old = FIXTURES / "runs" / "report" / "basic" / "jobs" / "keras-lstm-s0.json"
    assert "weights_fingerprint_built" not in json.loads(old.read_text())
    assert read_record(old)["weights_fingerprint"] == "a" * 64


def test_a_new_record_is_not_written_without_the_built_fingerprint(tmp_path):
    record = make_record()
    del record["weights_fingerprint_built"]
    with pytest.raises(ValueError, match="weights_fingerprint_built: missing"):
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
