"""Sources: aclImdb archive and folder, keras' imdb.npz, synthetic."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

from harness.data import keras_npz, load_dataset, synthetic
from harness.data.encoding import OOV, START
from harness.data.source import parse_source
from harness.errors import BenchError
from harness.spec import Spec

from .helpers import IGNORED, keras_load_data, keras_pad_sequences, review_files, write_archive, write_folder, write_npz

SPEC = Spec(vocab_size=200, maxlen=40)
TINY = Spec(vocab_size=20, maxlen=12, validation_split=0.25)


def load(spec, data, tmp_path):
    return load_dataset(spec, str(data), cache_dir=tmp_path / "cache")


# -- aclImdb ----------------------------------------------------------------------------------------------


def test_archive_folder_and_plain_tar_give_the_same_fingerprint(tmp_path):
    files = review_files()
    from_gz = load(TINY, write_archive(tmp_path / "a.tar.gz", files), tmp_path)
    from_tar = load(TINY, write_archive(tmp_path / "a.tar", files, gz=False), tmp_path)
    folder = write_folder(tmp_path / "extracted", files)
    from_folder = load(TINY, folder, tmp_path)
    from_parent = load(TINY, folder.parent, tmp_path)  # the folder holding aclImdb/ works too
    assert from_gz.fingerprint == from_tar.fingerprint == from_folder.fingerprint == from_parent.fingerprint
    assert from_gz.source.startswith("aclimdb:") and from_folder.source.startswith("aclimdb-folder:")
    assert from_gz.source_hash == hashlib.sha256((tmp_path / "a.tar.gz").read_bytes()).hexdigest()


def test_ignored_members_do_not_change_anything(tmp_path):
    with_extras = load(TINY, write_archive(tmp_path / "a.tar.gz", review_files(ignored=True)), tmp_path)
    without = load(TINY, write_archive(tmp_path / "b.tar.gz", review_files(ignored=False)), tmp_path)
    assert with_extras.fingerprint == without.fingerprint
    assert "train/unsup/0_0.txt" in "".join(IGNORED)  # the unsup review's word "zebra" would rank first
    assert with_extras.stats["train"]["n"] + with_extras.stats["val"]["n"] == 4


def test_member_order_in_the_archive_does_not_matter(tmp_path):
    files = review_files()
    shuffled = dict(reversed(list(files.items())))
    a = load(TINY, write_archive(tmp_path / "a.tar.gz", files), tmp_path)
    b = load(TINY, write_archive(tmp_path / "b.tar.gz", shuffled), tmp_path)
    assert a.fingerprint == b.fingerprint


@pytest.mark.parametrize("name", ["/etc/passwd", "aclImdb/../../evil.txt", "../aclImdb/train/pos/9_9.txt"])
def test_unsafe_member_path_is_refused(tmp_path, name):
    files = review_files()
    files[name] = "good good"
    with pytest.raises(BenchError, match="unsafe member path"):
        load(TINY, write_archive(tmp_path / "evil.tar.gz", files), tmp_path)


def test_link_posing_as_a_review_is_refused(tmp_path):
    path = write_archive(tmp_path / "links.tar", review_files(), gz=False)
    with tarfile.open(path, "a") as archive:
        link = tarfile.TarInfo("aclImdb/train/pos/7_9.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    with pytest.raises(BenchError, match="link or special file"):
        load(TINY, path, tmp_path)


def test_duplicate_review_is_refused(tmp_path):
    files = review_files()
    files["copy/train/pos/0_9.txt"] = "good"
    with pytest.raises(BenchError, match="twice"):
        load(TINY, write_archive(tmp_path / "dup.tar.gz", files), tmp_path)


# -- keras imdb.npz ---------------------------------------------------------------------------------------


def random_npz(tmp_path, n_train=40, n_test=30, seed=5):
    rng = np.random.RandomState(seed)
    rows = lambda n: [rng.randint(1, 60, size=rng.randint(0, 25)).tolist() for _ in range(n)]  # noqa: E731
    x_train, x_test = rows(n_train), rows(n_test)
    y_train, y_test = [i % 2 for i in range(n_train)], [i % 2 for i in range(n_test)]
    path = write_npz(tmp_path / "imdb.npz", x_train, y_train, x_test, y_test)
    return path, (x_train, y_train, x_test, y_test)


def trust(monkeypatch, path):
    monkeypatch.setattr(keras_npz, "KERAS_IMDB_SHA256", hashlib.sha256(path.read_bytes()).hexdigest())


def test_npz_follows_keras_load_data_semantics(tmp_path, monkeypatch):
    path, raw = random_npz(tmp_path)
    trust(monkeypatch, path)
    spec = Spec(vocab_size=30, maxlen=15, validation_split=0.2)
    ds = load(spec, path, tmp_path)
    (kx_train, ky_train), (kx_test, ky_test) = keras_load_data(*raw, num_words=30)
    kx_train = keras_pad_sequences(kx_train, 15)
    np.testing.assert_array_equal(np.concatenate([ds.x_train, ds.x_val]), kx_train)
    np.testing.assert_array_equal(ds.x_val, kx_train[32:])
    np.testing.assert_array_equal(np.concatenate([ds.y_train, ds.y_val]), ky_train.astype(np.float32))
    np.testing.assert_array_equal(ds.x_test, keras_pad_sequences(kx_test, 15))
    np.testing.assert_array_equal(ds.y_test, ky_test.astype(np.float32))
    assert ds.x_train.max() < 30 and ds.source.startswith("keras-npz:")


def test_untrusted_npz_needs_the_explicit_prefix(tmp_path):
    path, _ = random_npz(tmp_path)
    with pytest.raises(BenchError, match="untrusted-npz:"):
        load(SPEC, path, tmp_path)
    assert not (tmp_path / "cache" / "prepared").exists() or not any((tmp_path / "cache" / "prepared").iterdir())
    ds = load(SPEC, f"untrusted-npz:{path}", tmp_path)
    assert len(ds.y_test) == 30


def test_known_hash_is_the_one_in_keras_source():
    spec = importlib.util.find_spec("keras")  # finds the package without importing it (or TensorFlow)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("keras is not installed")
    source = Path(next(iter(spec.submodule_search_locations))) / "src" / "datasets" / "imdb.py"
    assert (
        re.search(r'file_hash=\(?\s*(?:#.*\n\s*)?"([0-9a-f]{64})"', source.read_text())[1]
        == keras_npz.KERAS_IMDB_SHA256
    )


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_npz_pickle_can_only_rebuild_arrays_even_when_trusted(tmp_path):
    marker = tmp_path / "pwned"
    evil = np.empty(2, dtype=object)
    evil[0], evil[1] = [1, 2], _Payload(marker)
    path = tmp_path / "evil.npz"
    np.savez(path, x_train=evil, y_train=np.array([0, 1]), x_test=evil, y_test=np.array([0, 1]))
    with pytest.raises(BenchError, match="corrupt or not an imdb.npz"):
        load(SPEC, f"untrusted-npz:{path}", tmp_path)
    assert not marker.exists()


def test_npz_with_wrong_keys(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.arange(3), y_train=np.arange(3))
    with pytest.raises(BenchError, match="lacks x_train, x_test, y_test"):
        load(SPEC, f"untrusted-npz:{path}", tmp_path)


def test_npz_with_bad_labels(tmp_path):
    path = write_npz(tmp_path / "bad.npz", [[1, 2]] * 4, [0, 1, 2, 1], [[3]] * 2, [0, 1])
    with pytest.raises(BenchError, match="labels 0 and 1"):
        load(SPEC, f"untrusted-npz:{path}", tmp_path)


# -- synthetic --------------------------------------------------------------------------------------------


def test_synthetic_is_deterministic_per_seed_and_differs_across_seeds(tmp_path):
    a = load_dataset(SPEC, "synthetic:train=300,test=100,seed=1", cache_dir=tmp_path)
    b = load_dataset(SPEC, "synthetic:seed=1,test=100,train=300", cache_dir=tmp_path)
    c = load_dataset(SPEC, "synthetic:train=300,test=100,seed=2", cache_dir=tmp_path)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert a.source == "synthetic:train=300,test=100,seed=1" and a.source_hash == b.source_hash != c.source_hash
    assert not (tmp_path / "prepared").exists()  # generated, never cached


def test_synthetic_defaults_and_shape(tmp_path):
    ds = load_dataset(Spec(), "synthetic", cache_dir=tmp_path)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (1600, 400, 1000)
    assert ds.stats["test"]["positive"] == 500  # balanced
    assert 0.03 < ds.stats["train"]["truncated_share"] < 0.15  # IMDB: about 8% longer than maxlen
    assert 0.3 < ds.stats["train"]["length_median"] / Spec().maxlen < 0.4
    x = np.concatenate([ds.x_train, ds.x_test])
    assert x.dtype == np.int32 and x.max() < Spec().vocab_size
    assert set(np.unique(x)) >= {0, START, OOV} and 3 not in x


def test_synthetic_label_sits_in_early_tokens_far_from_the_end(tmp_path):
    ds = load_dataset(SPEC, "synthetic:train=400,test=200,seed=0", cache_dir=tmp_path)
    neg, pos = synthetic.signal_ids(SPEC.vocab_size)
    x, y = np.concatenate([ds.x_train, ds.x_val, ds.x_test]), np.concatenate([ds.y_train, ds.y_val, ds.y_test])
    for row, label in zip(x, y, strict=True):
        words = row[np.argmax(row > 0) :]  # the review without its padding ...
        words = words[1:] if words[0] == START else words  # ... and start token
        tail = int(np.ceil(len(words) * synthetic.CLEAR_TAIL))
        assert np.isin(words[: len(words) - tail], pos if label else neg).any()  # the signal: early ...
        assert not np.isin(words, neg if label else pos).any()  # ... of the label's class only ...
        assert not np.isin(words[len(words) - tail :], np.concatenate([neg, pos])).any()  # ... never late


@pytest.mark.parametrize(
    "bad, message",
    [
        (
            "synthetic:train=1",
            "synthetic option train must be >= 2, got 1; write it as synthetic:train=N,test=N,seed=N",
        ),
        ("synthetic:size=3", "bad synthetic option 'size=3' in 'synthetic:size=3'; write it as synthetic:"),
        ("synthetic:train=x", "synthetic option train must be an integer, got 'x'; write it as synthetic:"),
        ("synthetic:seed", "bad synthetic option 'seed' in 'synthetic:seed'; write it as synthetic:"),
    ],
)
def test_synthetic_options_are_validated(bad, message):
    with pytest.raises(BenchError) as raised:
        parse_source(bad)
    assert str(raised.value).startswith(message)


def test_synthetic_needs_room_for_its_signal_words():
    with pytest.raises(BenchError, match="vocab_size >= 8"):
        load_dataset(Spec(vocab_size=5), "synthetic")
