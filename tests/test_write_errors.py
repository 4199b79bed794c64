"""Every OS error on a write (full disk, permissions, read-only filesystem) becomes one line that names the
path and the fix, exit 2; nothing is left half-written and the manifest stays truthful."""

from __future__ import annotations

import errno
import json
import os

import pytest
from click.testing import CliRunner

from harness import atomic
from harness.atomic import atomic_open, write_json
from harness.cli import cli
from harness.errors import BenchError
from tests.tiny_runs import TINY, wait_until_gone


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def bench_run(tmp_path, *args):
    return CliRunner().invoke(
        cli,
        ["run", "--backends", "numpy-fake", "--cells", "lstm,gru", "--epochs", "1", *TINY]
        + ["--results", str(tmp_path / "results"), "--name", "full", "--quiet", *args],
    )


@pytest.mark.parametrize(
    "code, fix",
    [
        (errno.ENOSPC, "free space on that disk, or write somewhere else"),
        (errno.EROFS, "that filesystem is read-only: choose a writable folder"),
        (errno.EACCES, "fix the folder's permissions or choose another folder"),
    ],
)
def test_a_failed_write_names_the_path_and_the_fix_and_leaves_the_old_file(tmp_path, monkeypatch, code, fix):
    target = tmp_path / "out.json"
    target.write_text('{"old": true}\n')

    def fail(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.os, "fsync", fail)
    with pytest.raises(BenchError) as err:
        write_json(target, {"new": True})
    assert str(err.value) == f"cannot write {target}: {os.strerror(code)}; {fix}"
    assert target.read_text() == '{"old": true}\n' and os.listdir(tmp_path) == ["out.json"]


def test_an_os_error_of_what_is_being_read_keeps_its_meaning(tmp_path):
    with pytest.raises(ConnectionResetError):
        with atomic_open(tmp_path / "download.bin", "wb", encoding=None):
            raise ConnectionResetError(errno.ECONNRESET, "reset by peer")
    assert os.listdir(tmp_path) == []


def test_a_full_disk_while_the_prepared_data_is_written_is_one_line(tmp_path, test_backends, monkeypatch):
    monkeypatch.setattr("harness.data.prepared.np.savez", no_space)
    result = bench_run(tmp_path)
    assert result.exit_code == 2
    run = tmp_path / "results" / "full"
    (line,) = result.output.strip().splitlines()
    assert (
        line
        == f"error: cannot write {run / 'data.npz'}: No space left on device; free space on that disk, or write somewhere else"
    )
    assert sorted(p.name for p in run.iterdir()) == ["manifest.json"]  # no half-written file
    manifest = json.loads((run / "manifest.json").read_text())
    assert {j["status"] for j in manifest["jobs"]} == {"pending"}


def test_a_full_disk_while_a_record_is_stored_stops_the_run_truthfully(tmp_path, test_backends, monkeypatch):
    def store(self, job_id, record):
        raise atomic.write_error(self.record_path(job_id), OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    monkeypatch.setattr("harness.run_folder.RunFolder.write_record", store)
    result = bench_run(tmp_path)
    assert result.exit_code == 2
    run = tmp_path / "results" / "full"
    (line,) = result.output.strip().splitlines()[-1:]
    assert line.startswith(f"error: cannot write {run / 'jobs' / 'numpy-fake-lstm-s0.json'}: No space left on device")
    assert "Traceback" not in result.output
    jobs = json.loads((run / "manifest.json").read_text())["jobs"]
    # The first job's record could not be kept: not "ok", not "running", and the second never started.
    assert [(j["status"], j["error"][:26] if j["error"] else None) for j in jobs] == [
        ("interrupted", "the run stopped: cannot wr"),
        ("pending", None),
    ]
    assert not wait_until_gone(str(run))


def test_a_results_path_under_a_regular_file_is_one_line(tmp_path, test_backends):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(cli, ["run", "--backends", "numpy-fake", *TINY, "--results", str(blocker / "r")])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line == (
        f"error: results folder {blocker / 'r'} is not writable (Not a directory); "
        "part of that path is a file, not a folder: choose another path"
    )
