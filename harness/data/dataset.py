"""The prepared data every backend trains on, its fingerprint and its statistics."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from harness.errors import BenchError

from .encoding import OOV, Corpus, Ragged, keras_shuffle_orders, pad_pre, validation_split_index

ARRAYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Padded int32 reviews (n, maxlen) and float32 0/1 labels, as keras would feed them to ``fit``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray  # the last validation_split of the shuffled training set, as fit(validation_split)
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # e.g. "aclimdb:/path/aclImdb_v1.tar.gz", "synthetic:train=2000,test=1000,seed=0"
    source_hash: str  # SHA-256 of the source file (or of the folder listing / synthetic parameters)
    fingerprint: str  # SHA-256 over the six arrays: names, dtypes, shapes and bytes
    stats: dict[str, Any]  # per split: counts, label balance, lengths before padding, truncation, OOV
    # Per split and review, before padding: words (start token excluded) and OOV words among them.
    # What the stats are computed from; not part of the fingerprint.
    lengths: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    oov_counts: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAYS}

    def identity(self) -> dict[str, Any]:
        """What a run manifest and every job record say about the data (proof of the same bytes)."""
        return {
            "source": self.source,
            "source_hash": self.source_hash,
            "fingerprint": self.fingerprint,
            "n_train": int(len(self.y_train)),
            "n_val": int(len(self.y_val)),
            "n_test": int(len(self.y_test)),
        }


class Rows(NamedTuple):
    """One split's reviews, row-aligned: padded ids, labels, words and OOV words per review."""

    x: np.ndarray
    y: np.ndarray
    lengths: np.ndarray
    oov: np.ndarray

    def part(self, start: int | None = None, stop: int | None = None) -> Rows:
        return Rows(*(array[start:stop] for array in self))


def fingerprint(arrays: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in ARRAYS:
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}\n".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def make_dataset(splits: Mapping[str, Rows], source: str, source_hash: str) -> Dataset:
    """Assemble a Dataset from its three splits, computing the fingerprint and statistics."""
    arrays = {}
    for split in SPLITS:
        arrays[f"x_{split}"], arrays[f"y_{split}"] = splits[split].x, splits[split].y
    maxlen = splits["train"].x.shape[1]
    return Dataset(
        **arrays,
        source=source,
        source_hash=source_hash,
        fingerprint=fingerprint(arrays),
        stats={split: _split_stats(splits[split], maxlen) for split in SPLITS},
        lengths={split: splits[split].lengths for split in SPLITS},
        oov_counts={split: splits[split].oov for split in SPLITS},
    )


def split_dataset(train: Rows, test: Rows, validation_split: float, source: str, source_hash: str) -> Dataset:
    """Validation = the last part of ``train``, cut where keras ``fit(validation_split=...)`` cuts."""
    split_at = validation_split_index(len(train.y), validation_split)
    return make_dataset(
        {"train": train.part(stop=split_at), "val": train.part(split_at), "test": test}, source, source_hash
    )


def from_corpus(corpus: Corpus, maxlen: int, validation_split: float, source: str, source_hash: str) -> Dataset:
    """Keras' shuffle, pre padding/truncation and validation split, applied to reviews in canonical order."""
    for split, labels in (("train", corpus.y_train), ("test", corpus.y_test)):
        present = set(np.unique(labels).tolist())
        if present != {0, 1}:
            only = "no reviews" if not present else f"only {'positive' if present == {1} else 'negative'} reviews"
            raise BenchError(f"{source} has {only} in its {split} split; a binary classifier needs both classes")
    train_order, test_order = keras_shuffle_orders(len(corpus.train), len(corpus.test))
    train = _rows(corpus.train, corpus.y_train, train_order, maxlen)
    return split_dataset(
        train, _rows(corpus.test, corpus.y_test, test_order, maxlen), validation_split, source, source_hash
    )


def limit_dataset(ds: Dataset, train_limit: int | None, test_limit: int | None, validation_split: float) -> Dataset:
    """Keep the first ``train_limit`` training reviews (train + validation, in order; validation is split
    again from them as keras would) and the first ``test_limit`` test reviews."""
    if train_limit is None and test_limit is None:
        return ds
    train = Rows(
        *(np.concatenate([a, b]) for a, b in zip(_split_rows(ds, "train"), _split_rows(ds, "val"), strict=True))
    )
    test = _split_rows(ds, "test")
    train, test = train.part(stop=train_limit), test.part(stop=test_limit)
    source = f"{ds.source} (first {len(train.y)} train, {len(test.y)} test)"
    return split_dataset(train, test, validation_split, source, ds.source_hash)


def _split_rows(ds: Dataset, split: str) -> Rows:
    return Rows(getattr(ds, f"x_{split}"), getattr(ds, f"y_{split}"), ds.lengths[split], ds.oov_counts[split])


def _rows(rows: Ragged, labels: np.ndarray, order: np.ndarray, maxlen: int) -> Rows:
    """Padded rows in ``order`` with their labels, words (start token excluded) and OOV words."""
    return Rows(
        pad_pre(rows, maxlen, order),
        labels[order].astype(np.float32),
        (rows.lengths[order] - 1).astype(np.int32),
        rows.count_per_row(OOV)[order].astype(np.int32),
    )


def _split_stats(rows: Rows, maxlen: int) -> dict[str, Any]:
    y, words, oov = rows.y, rows.lengths, rows.oov
    n = int(len(y))
    positive = int(np.count_nonzero(y == 1))
    total_words = int(words.sum())
    return {
        "n": n,
        "positive": positive,
        "negative": n - positive,
        "positive_share": positive / n if n else None,
        "length_mean": float(words.mean()) if n else None,
        "length_median": float(np.median(words)) if n else None,
        "length_max": int(words.max()) if n else None,
        # pad_sequences truncates a review when its ids (words + the start token) exceed maxlen.
        "truncated_share": float(np.count_nonzero(words + 1 > maxlen) / n) if n else None,
        "oov_rate": int(oov.sum()) / total_words if total_words else None,
    }
