"""Text to keras-style word ids.

Tokenizer (applied to every review, train and test alike):

1. lowercase (``str.lower``);
2. HTML line breaks ``<br />`` (any ``<br\\s*/?>``) become a space;
3. apostrophes (``'`` and ``’``) are deleted, so "don't" is one word, ``dont``;
4. every other character that is not a letter or digit (``str.isalnum``; ``_`` included) becomes a space;
5. split on whitespace.

Equivalently: after deleting apostrophes, the words are the maximal matches of ``[^\\W_]+``.

Vocabulary: words are ranked by how often they occur in the **training** reviews only (rank 1 = most
frequent), ties broken alphabetically (code-point order); word of rank r gets id ``r + 3``
(``index_from=3``). Ids ``>= num_words`` and test words never seen in training become OOV (2);
each review starts with 1. (Keras' own ``imdb.npz`` drops unseen test words instead; we keep the position.)

Words are interned to provisional int32 ids while reading, so a corpus never holds millions of ``str``
objects; ranking and the final id map are then NumPy operations.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence

import numpy as np

from .encoding import INDEX_FROM, OOV, Ragged, with_start

_LINE_BREAK = re.compile(r"<br\s*/?>")
_LINE_BREAK_BYTES = re.compile(rb"<br\s*/?>")
_APOSTROPHES = "'\u2019"
#: The same rules on ASCII bytes (most reviews), several times faster than on str.
_ASCII_TABLE = bytes(c if chr(c).isalnum() else ord(" ") for c in range(256))


class _CharMap(dict):
    """``str.translate`` table built lazily: apostrophes deleted, non-alphanumerics to a space."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        mapped = None if char in _APOSTROPHES else (char if char.isalnum() else " ")
        self[code] = mapped
        return mapped


_CHARS = _CharMap()


def normalize(text: str) -> str:
    """Steps 1-4 of the tokenizer: the text with words separated by whitespace."""
    return _LINE_BREAK.sub(" ", text.lower()).translate(_CHARS)


def tokenize(text: str | bytes) -> list[str]:
    """The words of a review (bytes are UTF-8; undecodable bytes become U+FFFD)."""
    if isinstance(text, bytes):
        if text.isascii():
            return _LINE_BREAK_BYTES.sub(b" ", text.lower()).translate(_ASCII_TABLE, b"'").decode("ascii").split()
        text = text.decode("utf-8", errors="replace")
    return normalize(text).split()


class Interner:
    """Gives each distinct word a provisional id in first-seen order, so reviews are held as int32."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def index(self, words: Sequence[str]) -> np.ndarray:
        ids = np.fromiter(map(self._ids.get, words, itertools.repeat(-1)), dtype=np.int32, count=len(words))
        for i in np.flatnonzero(ids < 0).tolist():  # new words: rare after the first reviews
            ids[i] = self._ids.setdefault(words[i], len(self._ids))
        return ids

    @property
    def words(self) -> list[str]:
        return list(self._ids)  # insertion order == provisional id


def intern_reviews(texts: Iterable[str | bytes]) -> tuple[Ragged, list[str]]:
    """Tokenize reviews in order: rows of provisional ids, and the words those ids stand for."""
    interner = Interner()
    ids = [interner.index(tokenize(text)) for text in texts]
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    return Ragged.from_lengths(np.concatenate([np.zeros(0, np.int32), *ids]), lengths), interner.words


def rank_order(words: Sequence[str], counts: np.ndarray) -> np.ndarray:
    """Provisional ids of the words with a count > 0, most frequent first, ties alphabetical."""
    count = counts.tolist()
    seen = [i for i, c in enumerate(count) if c > 0]
    seen.sort(key=lambda i: (-count[i], words[i]))
    return np.asarray(seen, dtype=np.int64)


def keras_id_map(words: Sequence[str], train_counts: np.ndarray, num_words: int) -> np.ndarray:
    """Provisional id -> keras id: ``rank + INDEX_FROM`` when below ``num_words``, else OOV."""
    order = rank_order(words, train_counts)
    ids = np.arange(1, len(order) + 1, dtype=np.int64) + INDEX_FROM
    kept = ids < num_words
    mapping = np.full(len(words), OOV, dtype=np.int32)
    mapping[order[kept]] = ids[kept]
    return mapping


def encode(
    rows: Ragged, words: Sequence[str], train: np.ndarray, test: np.ndarray, num_words: int
) -> tuple[Ragged, Ragged]:
    """Rows of provisional ids to keras id rows (start token first) for the row indices ``train``,
    ``test``; the vocabulary is ranked on the ``train`` rows only."""
    train_rows, test_rows = rows.take(train), rows.take(test)
    mapping = keras_id_map(words, np.bincount(train_rows.values, minlength=len(words)), num_words)
    return tuple(with_start(mapping[r.values], r.lengths) for r in (train_rows, test_rows))
