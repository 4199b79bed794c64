"""Tokenizer and keras encoding rules on a hand-made archive, checked against keras' own logic."""

from __future__ import annotations

import numpy as np
import pytest

from harness.data import load_dataset
from harness.data.encoding import Ragged, keras_shuffle_orders, pad_pre, validation_split_index
from harness.data.tokenizer import rank_order, tokenize
from harness.errors import BenchError
from harness.spec import Spec

from .helpers import IDS, REVIEWS, keras_load_data, keras_pad_sequences, review_files, write_archive


@pytest.fixture
def archive(tmp_path):
    return write_archive(tmp_path / "tiny.tar.gz", review_files())


def canonical_rows(vocab_size: int) -> tuple[list[list[int]], list[int], list[list[int]], list[int]]:
    """The expected keras rows in canonical order (neg then pos, by id), from IDS by hand."""

    def ids(text):
        return [1] + [IDS[w] if w in IDS and IDS[w] < vocab_size else 2 for w in tokenize(text)]

    canonical = sorted(REVIEWS, key=lambda k: (k[1], k[2]))  # neg before pos, then by id
    rows = {
        split: [(ids(REVIEWS[k]), 1 if k[1] == "pos" else 0) for k in canonical if k[0] == split]
        for split in ("train", "test")
    }
    return (
        [r for r, _ in rows["train"]],
        [y for _, y in rows["train"]],
        [r for r, _ in rows["test"]],
        [y for _, y in rows["test"]],
    )


@pytest.mark.parametrize(
    "text, words",
    [
        ("Bad bad movie.<br /><br />Really BAD!", ["bad", "bad", "movie", "really", "bad"]),
        ("Don't stop, it’s 10/10 -- B-movie_fun", ["dont", "stop", "its", "10", "10", "b", "movie", "fun"]),
        ("Café<br/>naïve 'quoted' 2nd", ["café", "naïve", "quoted", "2nd"]),
        (b"ASCII bytes<BR />too", ["ascii", "bytes", "too"]),
        ("caf\xe9 ok".encode("latin-1"), ["caf", "ok"]),  # undecodable byte -> U+FFFD -> a separator
        ("", []),
    ],
)
def test_tokenizer_rules(text, words):
    assert tokenize(text) == words


def test_bytes_and_str_tokenize_the_same():
    text = "It's a <br />GREAT film -- 9/10; didn't like the ending_though!"
    assert tokenize(text.encode()) == tokenize(text)


def test_ranking_by_training_frequency_ties_alphabetical():
    words = ["b", "a", "c", "d", "e"]
    counts = np.array([2, 2, 5, 0, 1])
    assert [words[i] for i in rank_order(words, counts)] == ["c", "a", "b", "e"]  # d unseen: no rank


def test_hand_made_archive_ids_start_oov_and_index_from(archive):
    ds = load_dataset(
        Spec(vocab_size=10, maxlen=12, validation_split=0.25), str(archive), cache_dir=archive.parent / "c"
    )
    x_train, y_train, x_test, y_test = canonical_rows(10)
    train_order, test_order = keras_shuffle_orders(4, 2)
    expected_train = keras_pad_sequences([x_train[i] for i in train_order], 12)
    np.testing.assert_array_equal(np.concatenate([ds.x_train, ds.x_val]), expected_train)
    np.testing.assert_array_equal(ds.x_test, keras_pad_sequences([x_test[i] for i in test_order], 12))
    np.testing.assert_array_equal(np.concatenate([ds.y_train, ds.y_val]), np.array(y_train, np.float32)[train_order])
    # A few rows spelled out: start 1, ids = rank + 3, ids >= vocab_size and unseen test words are OOV (2).
    rows = {tuple(r[r > 0]) for r in np.concatenate([ds.x_train, ds.x_val])}
    assert (1, 6, 6, 9, 2, 6) in rows  # bad bad movie really(13 -> OOV) bad
    assert (1, 4, 9, 4, 4) in rows  # good movie good good
    assert {tuple(r[r > 0]) for r in ds.x_test} == {(1, 6, 8, 2, 2), (1, 4, 2, 9)}


def test_matches_keras_load_data_and_pad_sequences(archive):
    """Same rank lists through a transcription of keras' load_data + pad_sequences give the same arrays."""
    spec = Spec(vocab_size=11, maxlen=5, validation_split=0.25)
    ds = load_dataset(spec, str(archive), cache_dir=archive.parent / "c")
    x_train, y_train, x_test, y_test = canonical_rows(10**6)
    ranks = lambda rows: [[w - 3 if w > 2 else 10**6 for w in row[1:]] for row in rows]  # noqa: E731 (unseen -> far rank)
    (kx_train, ky_train), (kx_test, ky_test) = keras_load_data(
        ranks(x_train), y_train, ranks(x_test), y_test, num_words=11
    )
    kx_train = keras_pad_sequences(kx_train, 5)
    split_at = validation_split_index(4, 0.25)
    np.testing.assert_array_equal(ds.x_train, kx_train[:split_at])
    np.testing.assert_array_equal(ds.x_val, kx_train[split_at:])  # validation = the LAST part
    np.testing.assert_array_equal(ds.y_val, ky_train[split_at:].astype(np.float32))
    np.testing.assert_array_equal(ds.x_test, keras_pad_sequences(kx_test, 5))
    np.testing.assert_array_equal(ds.y_test, ky_test.astype(np.float32))


def test_pad_pre_pads_and_truncates_at_the_front():
    rows = Ragged.from_lengths(np.array([1, 5, 6, 1, 1, 7, 8, 9, 10, 11], np.int32), np.array([3, 1, 0, 6]))
    expected = keras_pad_sequences([[1, 5, 6], [1], [], [1, 7, 8, 9, 10, 11]], 4)
    np.testing.assert_array_equal(pad_pre(rows, 4), expected)
    assert expected[3].tolist() == [8, 9, 10, 11]  # start token and first words dropped
    np.testing.assert_array_equal(pad_pre(rows, 4, np.array([3, 0])), expected[[3, 0]])
    assert pad_pre(rows, 4).dtype == np.int32


def test_keras_shuffle_is_one_random_state_continued():
    rng = np.random.RandomState(113)
    train, test = np.arange(7), np.arange(5)
    rng.shuffle(train)
    rng.shuffle(test)
    got_train, got_test = keras_shuffle_orders(7, 5)
    np.testing.assert_array_equal(got_train, train)
    np.testing.assert_array_equal(got_test, test)
    assert not np.array_equal(got_test, keras_shuffle_orders(5, 5)[0])  # the test order continues the stream


@pytest.mark.parametrize("n, split, expected", [(25000, 0.2, 20000), (10, 0.25, 7), (3, 0.5, 1), (7, 0.3, 4)])
def test_validation_split_index_rounds_like_keras(n, split, expected):
    assert validation_split_index(n, split) == expected  # int(floor(n * (1.0 - split)))


@pytest.mark.parametrize("n, split", [(1, 0.2), (2, 0.9), (3, 1e-17)])
def test_validation_split_too_small_is_an_error(n, split):
    with pytest.raises(BenchError, match="cannot be split"):
        validation_split_index(n, split)
