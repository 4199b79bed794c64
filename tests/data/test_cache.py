"""Cache reuse and invalidation, atomic entries, prepared files, download, and source resolution."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from harness.data import aclimdb, download, limit_dataset, load_dataset, load_prepared, prepared, save_prepared
from harness.data.source import resolve_source
from harness.errors import BenchError
from harness.spec import Spec

from .helpers import REVIEWS, review_files, write_archive

SPEC = Spec(vocab_size=20, maxlen=12, validation_split=0.25)


@pytest.fixture
def archive(tmp_path):
    return write_archive(tmp_path / "tiny.tar.gz", review_files())


@pytest.fixture
def reads(monkeypatch):
    """Count how often the archive is actually read."""
    calls = []
    real = aclimdb.read_archive

    def counting(path, num_words):
        calls.append((path, num_words))
        return real(path, num_words)

    monkeypatch.setattr(aclimdb, "read_archive", counting)
    return calls


def entries(cache):
    folder = cache / "prepared"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_second_load_comes_from_the_cache(tmp_path, archive, monkeypatch):
    first = load_dataset(SPEC, str(archive), cache_dir=tmp_path / "c")

    def fail(*args):
        raise AssertionError("the source was read again")

    monkeypatch.setattr(aclimdb, "read_archive", fail)
    second = load_dataset(SPEC, str(archive), cache_dir=tmp_path / "c")
    assert second.fingerprint == first.fingerprint and second.stats == first.stats
    for name, array in first.arrays().items():
        np.testing.assert_array_equal(getattr(second, name), array)
        assert getattr(second, name).dtype == array.dtype
    assert len(entries(tmp_path / "c")) == 1


def test_same_content_elsewhere_reuses_the_entry_under_its_new_name(tmp_path, archive, reads):
    load_dataset(SPEC, str(archive), cache_dir=tmp_path / "c")
    copy = tmp_path / "copy.tar.gz"
    copy.write_bytes(archive.read_bytes())
    ds = load_dataset(SPEC, str(copy), cache_dir=tmp_path / "c")
    assert len(reads) == 1 and ds.source == f"aclimdb:{copy}"


@pytest.mark.parametrize("change", [{"vocab_size": 10}, {"maxlen": 7}, {"validation_split": 0.5}])
def test_spec_fields_that_matter_invalidate(tmp_path, archive, reads, change):
    a = load_dataset(SPEC, str(archive), cache_dir=tmp_path / "c")
    b = load_dataset(SPEC.replace(**change), str(archive), cache_dir=tmp_path / "c")
    assert len(reads) == 2 and a.fingerprint != b.fingerprint and len(entries(tmp_path / "c")) == 2


def test_spec_fields_that_do_not_matter_share_the_entry(tmp_path, archive, reads):
    load_dataset(SPEC, str(archive), cache_dir=tmp_path / "c")
    load_dataset(SPEC.replace(cell="gru", units=7, epochs=1, seed=3), str(archive), cache_dir=tmp_path / "c")
    assert len(reads) == 1


def test_changed_source_content_invalidates(tmp_path, archive, reads):
    a = load_dataset(SPEC, str(archive), cache_dir=tmp_path / "c")
    changed = dict(REVIEWS)
    changed[("train", "pos", 0)] = "Good good good fun."
    write_archive(archive, review_files(changed))
    b = load_dataset(SPEC, str(archive), cache_dir=tmp_path / "c")
    assert len(reads) == 2 and a.fingerprint != b.fingerprint and a.source_hash != b.source_hash


def test_crash_while_writing_leaves_no_entry(tmp_path, archive, monkeypatch):
    def crash(handle, **arrays):
        handle.write(b"PK\x03\x04 half an entry")
        raise KeyboardInterrupt

    monkeypatch.setattr(prepared.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        load_dataset(SPEC, str(archive), cache_dir=tmp_path / "c")
    assert entries(tmp_path / "c") == []  # neither the entry nor its temporary file
    monkeypatch.undo()
    assert load_dataset(SPEC, str(archive), cache_dir=tmp_path / "c").stats["test"]["n"] == 2


def test_corrupt_entry_is_rebuilt(tmp_path, archive, reads):
    good = load_dataset(SPEC, str(archive), cache_dir=tmp_path / "c")
    (entry,) = (tmp_path / "c" / "prepared").iterdir()
    entry.write_bytes(entry.read_bytes()[:100])
    again = load_dataset(SPEC, str(archive), cache_dir=tmp_path / "c")
    assert len(reads) == 2 and again.fingerprint == good.fingerprint
    assert load_prepared(entry).fingerprint == good.fingerprint  # and the entry was rewritten


def test_unwritable_cache_fails_before_reading(tmp_path, archive, reads):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(BenchError, match="not writable.*BENCH_CACHE_DIR"):
        load_dataset(SPEC, str(archive), cache_dir=blocker / "cache")
    assert reads == []


# -- prepared files ---------------------------------------------------------------------------------------


def test_prepared_file_round_trip_and_tamper_check(tmp_path):
    ds = load_dataset(SPEC, "synthetic:train=50,test=20,seed=4")
    path = tmp_path / "data.npz"
    save_prepared(ds, path)
    back = load_prepared(path)
    assert back.fingerprint == ds.fingerprint and back.source == ds.source and back.stats == ds.stats
    with np.load(path) as npz:
        members = {k: npz[k] for k in npz.files}
    members["x_test"][0, -1] += 1
    np.savez(path, **members)
    with pytest.raises(BenchError, match="does not match its fingerprint"):
        load_prepared(path)
    path.write_bytes(b"garbage")
    with pytest.raises(BenchError, match="unreadable or corrupt"):
        load_prepared(path)


def test_limit_dataset_keeps_the_first_reviews_and_splits_again(tmp_path):
    ds = load_dataset(SPEC, "synthetic:train=100,test=40,seed=1")
    small = limit_dataset(ds, 30, 10, 0.25)
    np.testing.assert_array_equal(np.concatenate([small.x_train, small.x_val]), ds.x_train[:30])
    assert (len(small.y_train), len(small.y_val), len(small.y_test)) == (22, 8, 10)
    np.testing.assert_array_equal(small.x_test, ds.x_test[:10])
    assert small.fingerprint != ds.fingerprint and small.stats["train"]["n"] == 22
    assert limit_dataset(ds, None, None, 0.25) is ds


# -- download ---------------------------------------------------------------------------------------------


def test_download_with_the_right_hash(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich draws its bar only on a terminal
    root, url = server
    payload = bytes(range(256)) * 5000  # > one chunk
    (root / "a.bin").write_bytes(payload)
    dest = tmp_path / "dl" / "a.bin"
    assert download.fetch(f"{url}/a.bin", dest, hashlib.sha256(payload).hexdigest(), progress=True) == dest
    assert dest.read_bytes() == payload
    assert "downloading a.bin" in capsys.readouterr().err


def test_download_with_a_wrong_hash_keeps_nothing(server, tmp_path):
    root, url = server
    (root / "a.bin").write_bytes(b"tampered")
    dest = tmp_path / "dl" / "a.bin"
    with pytest.raises(BenchError, match="SHA-256 .* not kept"):
        download.fetch(f"{url}/a.bin", dest, "0" * 64)
    assert list(dest.parent.iterdir()) == []


def test_download_errors_are_one_line(server, tmp_path):
    _, url = server
    with pytest.raises(BenchError, match="cannot download .*404"):
        download.fetch(f"{url}/missing.bin", tmp_path / "x", "0" * 64)
    assert not (tmp_path / "x").exists()


# -- source resolution ------------------------------------------------------------------------------------


def test_resolution_order_data_env_cache_download(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    env_archive = write_archive(tmp_path / "env.tar.gz", review_files())
    fetched = []

    def fake_fetch(cache_root, progress=False):
        fetched.append(cache_root)
        return write_archive(cache_root / download.ARCHIVE_NAME, review_files())

    monkeypatch.setattr(download, "fetch_official", fake_fetch)
    monkeypatch.setenv("BENCH_DATA", str(env_archive))
    assert resolve_source("synthetic", cache).kind == "synthetic"  # --data first
    assert resolve_source(None, cache).path == env_archive  # then $BENCH_DATA
    monkeypatch.delenv("BENCH_DATA")
    assert resolve_source(None, cache).path == cache / download.ARCHIVE_NAME and len(fetched) == 1  # download
    assert resolve_source(None, cache).path == cache / download.ARCHIVE_NAME and len(fetched) == 1  # then the cache
    ds = load_dataset(SPEC, cache_dir=cache)
    assert ds.source == f"aclimdb:{cache / download.ARCHIVE_NAME}" and len(fetched) == 1


def test_cache_dir_comes_from_the_environment(tmp_path, monkeypatch, archive):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "env-cache"))
    load_dataset(SPEC, str(archive))
    assert len(entries(tmp_path / "env-cache")) == 1
