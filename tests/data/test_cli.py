"""``bench data``: output, and every bad input as one ``error:`` line with exit code 2."""

from __future__ import annotations

import builtins
import hashlib
import json
import tarfile

import numpy as np
import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.data import download, keras_npz

from .helpers import REVIEWS, review_files, write_archive, write_npz

TINY = ["--vocab-size", "20", "--maxlen", "12"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("BENCH_CACHE_DIR", str(folder))
    monkeypatch.delenv("BENCH_DATA", raising=False)
    monkeypatch.setenv("TTY_COMPATIBLE", "0")  # no spinner or progress bar, even where FORCE_COLOR is set
    return folder


def bench(*args):
    return CliRunner().invoke(cli, ["data", *args])


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0]


def assert_cache_clean(cache):
    prepared = cache / "prepared"
    assert not prepared.exists() or list(prepared.iterdir()) == []


def test_human_and_json_output(tmp_path, cache):
    path = write_archive(tmp_path / "tiny.tar.gz", review_files())
    human = bench("--data", str(path), *TINY, "--config", str(_config(tmp_path)))
    assert human.exit_code == 0, human.output
    assert f"aclimdb:{path}" in human.stdout and "fingerprint" in human.stdout
    as_json = bench("--data", str(path), *TINY, "--config", str(_config(tmp_path)), "--json")
    summary = json.loads(as_json.stdout)
    assert summary["spec"] == {"vocab_size": 20, "maxlen": 12, "validation_split": 0.25}
    assert {k: v["n"] for k, v in summary["splits"].items()} == {"train": 3, "val": 1, "test": 2}
    assert summary["fingerprint"] in human.stdout and summary["source_hash"] in human.stdout
    assert summary["splits"]["test"]["positive_share"] == 0.5


def _config(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text("validation_split = 0.25\n")
    return path


def test_synthetic_json_is_stable(cache):
    a, b = (
        bench("--data", "synthetic:train=60,test=20", "--json"),
        bench("--data", "synthetic:train=60,test=20", "--json"),
    )
    assert a.exit_code == 0 and json.loads(a.stdout)["fingerprint"] == json.loads(b.stdout)["fingerprint"]


def _only_class(tmp_path):
    only_pos = {k: v for k, v in REVIEWS.items() if not (k[0] == "train" and k[1] == "neg")}
    return write_archive(tmp_path / "pos.tar.gz", review_files(only_pos))


def _truncated(tmp_path):
    good = write_archive(tmp_path / "good.tar.gz", review_files()).read_bytes()
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(good[: len(good) // 2])
    return path


def _cut_at_a_header(tmp_path):
    """A plain .tar cut exactly before its last member: tarfile alone would just see fewer reviews."""
    path = write_archive(tmp_path / "cut.tar", review_files(), gz=False)
    with tarfile.open(path) as archive:
        last = archive.getmembers()[-1].offset
    path.write_bytes(path.read_bytes()[:last])
    return path


def _corrupt_npz(tmp_path):
    good = write_npz(tmp_path / "good.npz", [[1, 2]] * 4, [0, 1, 0, 1], [[3]] * 2, [0, 1]).read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(good[: len(good) // 2])
    return f"untrusted-npz:{path}"


BAD_SOURCES = {
    "missing path": (lambda tmp: str(tmp / "nope.tar.gz"), "not found"),
    "empty file": (lambda tmp: str(_touch(tmp / "empty.tar.gz")), "truncated or corrupt"),
    "not an archive": (lambda tmp: str(_write(tmp / "junk.tar.gz", b"\x1f\x8bjunk" * 100)), "truncated or corrupt"),
    "truncated archive": (lambda tmp: str(_truncated(tmp)), "truncated or corrupt"),
    "tar cut at a member boundary": (lambda tmp: str(_cut_at_a_header(tmp)), "end-of-archive marker"),
    "archive without reviews": (
        lambda tmp: str(write_archive(tmp / "none.tar.gz", {"aclImdb/README": "hi"})),
        "holds no reviews",
    ),
    "archive without test reviews": (
        lambda tmp: str(
            write_archive(tmp / "t.tar.gz", review_files({k: v for k, v in REVIEWS.items() if k[0] == "train"}))
        ),
        "no test reviews",
    ),
    "only one class": (lambda tmp: str(_only_class(tmp)), "only positive reviews in its train split"),
    "empty folder": (lambda tmp: str(_mkdir(tmp / "empty")), "holds no reviews"),
    "npz with wrong keys": (lambda tmp: f"untrusted-npz:{_npz_wrong_keys(tmp)}", "lacks x_test"),
    "corrupt npz": (lambda tmp: _corrupt_npz(tmp), "corrupt"),
    "untrusted npz": (
        lambda tmp: str(write_npz(tmp / "imdb.npz", [[1]] * 4, [0, 1, 0, 1], [[1]] * 2, [0, 1])),
        "untrusted-npz:",
    ),
    "prefix on a non-npz": (lambda tmp: f"untrusted-npz:{_mkdir(tmp / 'dir')}", "applies to an .npz file only"),
    "bad synthetic option": (lambda tmp: "synthetic:rows=5", "bad synthetic option"),
}


def _touch(path):
    path.touch()
    return path


def _write(path, data):
    path.write_bytes(data)
    return path


def _mkdir(path):
    path.mkdir()
    return path


def _npz_wrong_keys(tmp):
    path = tmp / "wrong.npz"
    np.savez(path, x_train=np.zeros((2, 3)), y_train=np.array([0, 1]))
    return path


@pytest.mark.parametrize("case", sorted(BAD_SOURCES))
def test_bad_sources(tmp_path, cache, case):
    make, fragment = BAD_SOURCES[case]
    assert_one_line_error(bench("--data", make(tmp_path), *TINY), fragment)
    assert_cache_clean(cache)


def test_bad_source_from_the_environment_names_it(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("BENCH_DATA", str(tmp_path / "gone"))
    assert_one_line_error(bench(*TINY), "(from $BENCH_DATA)")


def test_unreadable_file(tmp_path, cache, monkeypatch):
    path = write_archive(tmp_path / "locked.tar.gz", review_files())
    real_open = builtins.open

    def locked_open(file, *args, **kwargs):  # chmod does not stop root, so refuse this one path here
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", locked_open)
    assert_one_line_error(bench("--data", str(path), *TINY), "cannot read", "Permission denied")


@pytest.mark.parametrize("option, value, fragment", [("--maxlen", "0", "maxlen"), ("--vocab-size", "2", "vocab_size")])
def test_spec_that_cannot_work(cache, option, value, fragment):
    assert_one_line_error(bench("--data", "synthetic", option, value), "invalid spec", fragment)


def test_unwritable_cache_folder(tmp_path, cache, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(blocker / "cache"))
    path = write_archive(tmp_path / "tiny.tar.gz", review_files())
    assert_one_line_error(bench("--data", str(path), *TINY), "not writable", "BENCH_CACHE_DIR")


def test_download_with_a_wrong_hash(server, cache, monkeypatch):
    root, url = server
    (root / "aclImdb_v1.tar.gz").write_bytes(b"not the archive")
    monkeypatch.setattr(download, "OFFICIAL_URL", f"{url}/aclImdb_v1.tar.gz")
    assert_one_line_error(bench(*TINY), "SHA-256", "not kept")
    assert list(cache.iterdir()) == []  # nothing half-downloaded, nothing prepared


def test_download_when_offline(cache, monkeypatch):
    monkeypatch.setattr(download, "OFFICIAL_URL", "http://127.0.0.1:9/aclImdb_v1.tar.gz")  # discard port: refused
    assert_one_line_error(bench(*TINY), "cannot download", "--data")


def test_trusted_npz_loads_without_prefix(tmp_path, cache, monkeypatch):
    path = write_npz(tmp_path / "imdb.npz", [[1, 2]] * 4, [0, 1, 0, 1], [[3]] * 2, [0, 1])
    monkeypatch.setattr(keras_npz, "KERAS_IMDB_SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    result = bench("--data", str(path), *TINY, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["source"] == f"keras-npz:{path}"
