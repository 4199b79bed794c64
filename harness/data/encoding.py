"""Keras' IMDB conventions, on ragged int32 sequences held as one flat array plus row offsets.

Mirrors ``keras.datasets.imdb.load_data`` (defaults) + ``keras.utils.pad_sequences`` (defaults):

- every review becomes ``[START] + [rank + INDEX_FROM for each word]``; ids ``>= num_words`` become OOV
  (the cut compares the *shifted* id), for train and test alike;
- one ``np.random.RandomState(SHUFFLE_SEED)`` shuffles the training indices and then, continued, the test
  indices (``rng.shuffle(np.arange(n))``, exactly as ``load_data``);
- ``pad_sequences``: padding ``pre`` and truncation ``pre`` to ``maxlen`` with value 0 (pre-truncation
  drops the beginning of a long review, start token included);
- ``fit(validation_split=s)``: validation is the *last* part, from ``split_at = floor(n * (1.0 - s))``
  (``keras/src/trainers/data_adapters/array_slicing.py::train_validation_split``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.errors import BenchError

PAD = 0
START = 1
OOV = 2
INDEX_FROM = 3  # word of rank r (1 = most frequent) gets id r + 3; id 3 is never used
SHUFFLE_SEED = 113


@dataclass(frozen=True, eq=False)
class Ragged:
    """Variable-length rows: row ``i`` is ``values[offsets[i]:offsets[i + 1]]``."""

    values: np.ndarray  # int32
    offsets: np.ndarray  # int64, len(rows) + 1, starts at 0

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def take(self, rows: np.ndarray) -> Ragged:
        """The rows at indices ``rows``, in that order."""
        lengths = self.lengths[rows]
        source = np.repeat(self.offsets[:-1][rows], lengths) + _index_within_rows(lengths)
        return Ragged.from_lengths(self.values[source], lengths)

    @classmethod
    def from_lengths(cls, values: np.ndarray, lengths: np.ndarray) -> Ragged:
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if offsets[-1] != len(values):
            raise ValueError("lengths do not add up to the number of values")
        return cls(values, offsets)

    def count_per_row(self, value: int) -> np.ndarray:
        """How often ``value`` occurs in each row."""
        hits = np.concatenate(([0], np.cumsum(self.values == value, dtype=np.int64)))
        return hits[self.offsets[1:]] - hits[self.offsets[:-1]]


def with_start(words: np.ndarray, lengths: np.ndarray) -> Ragged:
    """Rows of word ids (flat ``words``, row sizes ``lengths``), each prefixed with the START id."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.sum() != len(words):
        raise ValueError("lengths do not add up to the number of words")
    rows = Ragged.from_lengths(np.empty(len(words) + len(lengths), dtype=np.int32), lengths + 1)
    is_start = np.zeros(len(rows.values), dtype=bool)
    is_start[rows.offsets[:-1]] = True
    rows.values[is_start] = START
    rows.values[~is_start] = words
    return rows


def cut_to_vocabulary(ids: np.ndarray, num_words: int) -> np.ndarray:
    """Keras' ``num_words`` cut on already shifted ids: kept if ``0 <= id < num_words``, else OOV."""
    ids = np.asarray(ids)
    return np.where((ids >= 0) & (ids < num_words), ids, OOV).astype(np.int32)


def keras_shuffle_orders(n_train: int, n_test: int, seed: int = SHUFFLE_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The row orders ``load_data`` applies: one RandomState shuffles train, then (continued) test."""
    rng = np.random.RandomState(seed)
    train = np.arange(n_train)
    rng.shuffle(train)
    test = np.arange(n_test)
    rng.shuffle(test)
    return train, test


def pad_pre(rows: Ragged, maxlen: int, order: np.ndarray | None = None) -> np.ndarray:
    """``pad_sequences(rows, maxlen)`` (pre padding, pre truncation, value 0) as int32, rows in ``order``."""
    starts, ends = rows.offsets[:-1], rows.offsets[1:]
    if order is not None:
        starts, ends = starts[order], ends[order]
    keep = np.minimum(ends - starts, maxlen)
    out = np.full((len(keep), maxlen), PAD, dtype=np.int32)
    row = np.repeat(np.arange(len(keep)), keep)
    within = _index_within_rows(keep)  # position of each kept id inside its row's kept tail
    out[row, np.repeat(maxlen - keep, keep) + within] = rows.values[np.repeat(ends - keep, keep) + within]
    return out


def _index_within_rows(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ..., lengths[0]-1, 0, 1, ..., lengths[1]-1, ... as one flat array."""
    return np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def validation_split_index(n: int, validation_split: float) -> int:
    """Where keras ``fit(validation_split=...)`` cuts: train ``[:i]``, validation ``[i:]``."""
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise BenchError(
            f"{n} training reviews cannot be split with validation_split={validation_split}; "
            "use more training data or another validation_split"
        )
    return split_at


@dataclass(frozen=True, eq=False)
class Corpus:
    """Encoded reviews in a source's canonical order (before keras' shuffle); labels 0 = neg, 1 = pos."""

    train: Ragged
    y_train: np.ndarray
    test: Ragged
    y_test: np.ndarray
