"""The Stanford aclImdb format: ``aclImdb_v1.tar.gz`` (read as a stream, never extracted) or its folder.

Reviews are the files ``[<root>/]train|test/pos|neg/<id>_<rating>.txt`` (UTF-8; undecodable bytes become
U+FFFD). Everything else is ignored: ``train/unsup``, ``*.feat``, ``urls_*.txt``, ``README``,
``imdb.vocab``, ``imdbEr.txt``. Archive members with an absolute path or a ``..`` component, and review
members that are not plain files (links, devices), are refused.

Canonical order: per split (train, then test), the ``neg`` reviews then the ``pos`` ones, each by numeric
id. Labels: neg 0, pos 1.
"""

from __future__ import annotations

import collections
import gzip
import hashlib
import os
import re
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from harness.errors import BenchError

from .encoding import Corpus
from .files import open_binary, read_bytes
from .tokenizer import encode, intern_reviews

SPLITS = ("train", "test")
LABELS = ("neg", "pos")  # index == label
_REVIEW = re.compile(r"(?:^|/)(train|test)/(neg|pos)/(\d+)_\d+\.txt$")
_GZIP_MAGIC = b"\x1f\x8b"

#: (split index, label, review id): sorting these gives the canonical order.
ReviewKey = tuple[int, int, int]


def _review_key(name: str) -> ReviewKey | None:
    match = _REVIEW.search(name)
    if match is None:
        return None
    split, label, review_id = match.groups()
    return SPLITS.index(split), LABELS.index(label), int(review_id)


def read_archive(path: Path, num_words: int) -> Corpus:
    """Read a .tar.gz (or plain .tar) aclImdb archive."""
    return _corpus(_archive_reviews(path), num_words, f"archive {path}")


def read_folder(path: Path, num_words: int) -> Corpus:
    """Read an extracted aclImdb folder (the ``aclImdb`` folder itself or the one holding it)."""
    return _corpus(((key, read_bytes(file)) for key, file in _folder_reviews(path)), num_words, f"folder {path}")


def folder_hash(path: Path) -> str:
    """SHA-256 over the review files' relative paths, sizes and modification times (cheap to recompute)."""
    digest = hashlib.sha256()
    root = _folder_root(path)
    for _, file in _folder_reviews(path):
        st = file.stat()
        digest.update(f"{file.relative_to(root).as_posix()}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _corpus(reviews: Iterator[tuple[ReviewKey, bytes]], num_words: int, where: str) -> Corpus:
    keys: list[ReviewKey] = []

    def texts() -> Iterator[bytes]:
        for key, raw in reviews:
            keys.append(key)
            yield raw

    rows, words = intern_reviews(texts())
    if not keys:
        raise BenchError(
            f"{where} holds no reviews (expected [aclImdb/]train|test/pos|neg/<id>_<rating>.txt); "
            "pass an aclImdb archive or folder"
        )
    if len(set(keys)) != len(keys):
        split, label, review_id = next(k for k, n in collections.Counter(keys).items() if n > 1)
        raise BenchError(
            f"{where} holds review {SPLITS[split]}/{LABELS[label]}/{review_id} twice; pass a single aclImdb tree"
        )
    order = sorted(range(len(keys)), key=keys.__getitem__)
    by_split = {s: np.array([i for i in order if keys[i][0] == s], dtype=np.int64) for s in range(len(SPLITS))}
    for s, split in enumerate(SPLITS):
        if not len(by_split[s]):
            raise BenchError(
                f"{where} holds no {split} reviews (expected {split}/pos and {split}/neg); pass a complete aclImdb tree"
            )
    train, test = encode(rows, words, by_split[0], by_split[1], num_words)
    labels = [np.array([keys[i][1] for i in by_split[s]], dtype=np.int8) for s in range(len(SPLITS))]
    return Corpus(train, labels[0], test, labels[1])


def _archive_reviews(path: Path) -> Iterator[tuple[ReviewKey, bytes]]:
    with open_binary(path) as handle:
        try:
            magic = handle.read(2)
            handle.seek(0)
            # A GzipFile checks the CRC and length at the end of the stream, which tarfile's own stream
            # reader does not: a truncated .tar.gz must fail, not yield fewer reviews. Mode "r:" only
            # seeks forward here (one pass, nothing extracted) and is faster than tarfile's "r|" buffering.
            stream: BinaryIO = gzip.GzipFile(fileobj=handle) if magic == _GZIP_MAGIC else handle
            with tarfile.open(fileobj=stream, mode="r:") as archive:
                for member in archive:
                    key = _check_member(member, path)
                    if key is not None:
                        data = archive.extractfile(member)
                        assert data is not None  # a regular file, checked above
                        yield key, data.read()
                # tarfile stops quietly at a missing or garbled header: require its end marker (a whole
                # zero block just read) and only zero padding after it, to the end of the (gzip) stream.
                complete = stream.tell() == archive.offset + tarfile.BLOCKSIZE
                while chunk := stream.read(1 << 20):
                    complete = complete and not chunk.strip(b"\0")
                if not complete:
                    raise tarfile.ReadError("it ends before its end-of-archive marker or has a bad header")
        except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
            raise BenchError(
                f"cannot read archive {path}: truncated or corrupt, or not a .tar.gz/.tar ({err}); "
                "download it again or pass another source"
            ) from None


def _check_member(member: tarfile.TarInfo, archive: Path) -> ReviewKey | None:
    name = member.name
    if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or name[1:2] == ":":
        raise BenchError(
            f"archive {archive} has an unsafe member path {name!r}; refusing it (use the official aclImdb_v1.tar.gz)"
        )
    key = _review_key(name)
    if key is not None and not member.isfile():
        raise BenchError(
            f"archive {archive} member {name!r} is a link or special file, not a review; refusing the archive"
        )
    return key


def _folder_root(path: Path) -> Path:
    if not any((path / split).is_dir() for split in SPLITS) and (path / "aclImdb").is_dir():
        return path / "aclImdb"
    return path


def _folder_reviews(path: Path) -> Iterator[tuple[ReviewKey, Path]]:
    root = _folder_root(path)
    for split in SPLITS:
        for label in LABELS:
            folder = root / split / label
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name) if folder.is_dir() else []
            except OSError as err:
                raise BenchError(f"cannot list {folder} ({err.strerror or err}); fix its permissions") from None
            for entry in entries:
                key = _review_key(f"{split}/{label}/{entry.name}")
                if key is not None and entry.is_file():
                    yield key, Path(entry.path)
