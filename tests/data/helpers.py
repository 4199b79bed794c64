"""Tiny aclImdb archives, folders and keras-style npz files written by the tests themselves."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

#: (split, label, id) -> text. Word counts over the training reviews, by hand:
#: good 4; a 3, bad 3; boring 2, film 2, movie 2; dont 1, great 1, one 1, really 1, watch 1.
REVIEWS: dict[tuple[str, str, int], str] = {
    ("train", "neg", 0): "Bad bad movie.<br /><br />Really BAD!",
    ("train", "neg", 1): "A boring, boring film; don't watch.",
    ("train", "pos", 0): "Good movie! Good good.",
    ("train", "pos", 1): "A great film, a GOOD one.",
    ("test", "neg", 0): "Bad film, unseen words.",
    ("test", "pos", 0): "Good great movie.",
}
#: keras id = rank + 3 (rank 1 = most frequent; ties alphabetical).
IDS = {
    "good": 4,
    "a": 5,
    "bad": 6,
    "boring": 7,
    "film": 8,
    "movie": 9,
    "dont": 10,
    "great": 11,
    "one": 12,
    "really": 13,
    "watch": 14,
}
#: Members a loader must ignore (the unsup reviews would change the ranking if they were read).
IGNORED = {
    "aclImdb/README": "read me",
    "aclImdb/imdb.vocab": "good\nbad\n",
    "aclImdb/imdbEr.txt": "0.1\n",
    "aclImdb/train/unsup/0_0.txt": "zebra zebra zebra zebra zebra zebra zebra zebra",
    "aclImdb/train/labeledBow.feat": "0 1:2\n",
    "aclImdb/train/urls_pos.txt": "http://example.com\n",
    "aclImdb/test/.DS_Store": "binary",
}


def member_name(split: str, label: str, review_id: int, rating: int | None = None) -> str:
    rating = rating if rating is not None else (9 if label == "pos" else 2)
    return f"aclImdb/{split}/{label}/{review_id}_{rating}.txt"


def review_files(reviews: Mapping[tuple[str, str, int], str] = REVIEWS, ignored: bool = True) -> dict[str, str]:
    files = {member_name(*key): text for key, text in reviews.items()}
    if ignored:
        files.update(IGNORED)
    return files


def write_archive(path: Path, files: Mapping[str, str | bytes], gz: bool = True) -> Path:
    with tarfile.open(path, "w:gz" if gz else "w") as archive:
        for name, text in files.items():
            data = text.encode() if isinstance(text, str) else text
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def write_folder(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root / "aclImdb"


def ragged(rows: list[list[int]]) -> np.ndarray:
    array = np.empty(len(rows), dtype=object)
    for i, row in enumerate(rows):
        array[i] = list(row)
    return array


def write_npz(
    path: Path,
    x_train: list[list[int]],
    y_train: list[int],
    x_test: list[list[int]],
    y_test: list[int],
    **extra: np.ndarray,
) -> Path:
    """Like keras' imdb.npz: object arrays of lists of word ranks, int64 labels."""
    np.savez(
        path,
        x_train=ragged(x_train),
        y_train=np.array(y_train, dtype=np.int64),
        x_test=ragged(x_test),
        y_test=np.array(y_test, dtype=np.int64),
        **extra,
    )
    return path


def keras_load_data(x_train, y_train, x_test, y_test, num_words, seed=113, start_char=1, oov_char=2, index_from=3):
    """A direct transcription of keras.datasets.imdb.load_data (keras 3) after the file is read."""
    x_train, labels_train = np.asarray(ragged(x_train)), np.asarray(y_train)
    x_test, labels_test = np.asarray(ragged(x_test)), np.asarray(y_test)
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]
    x_train = [[start_char] + [w + index_from for w in x] for x in x_train]
    x_test = [[start_char] + [w + index_from for w in x] for x in x_test]
    xs = x_train + x_test
    labels = np.concatenate([labels_train, labels_test])
    xs = [[w if (0 <= w < num_words) else oov_char for w in x] for x in xs]
    idx = len(x_train)
    return (xs[:idx], labels[:idx]), (xs[idx:], labels[idx:])


def keras_pad_sequences(sequences, maxlen):
    """keras.utils.pad_sequences with its defaults (dtype int32, padding/truncating 'pre', value 0)."""
    x = np.zeros((len(sequences), maxlen), dtype=np.int32)
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:]
        x[i, -len(trunc) :] = trunc
    return x
