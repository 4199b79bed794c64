"""Where the reviews come from: parse a ``--data`` value, resolve the default, hash and read a source.

Accepted values: a path to ``aclImdb_v1.tar.gz`` (or any .tar/.tar.gz aclImdb archive), to an extracted
``aclImdb`` folder, or to keras' ``imdb.npz``; ``untrusted-npz:PATH`` to read an npz whose hash is not
keras' own; ``synthetic[:train=N,test=N,seed=N]``.

With no value: ``$BENCH_DATA``, else the archive in the user cache, else a download of the official
archive into the user cache (SHA-256 verified).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.atomic import ensure_writable_dir
from harness.errors import BenchError
from harness.spec import Spec

from . import aclimdb, download, keras_npz, synthetic
from .encoding import Corpus
from .files import file_sha256, read_bytes

DATA_ENV = "BENCH_DATA"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_LABELS = {"archive": "aclimdb", "folder": "aclimdb-folder", "npz": "keras-npz"}


@dataclass(frozen=True)
class Source:
    kind: str  # "archive" | "folder" | "npz" | "synthetic"
    path: Path | None = None
    params: synthetic.SyntheticParams | None = None
    allow_untrusted: bool = False  # npz only: read it although its hash is not keras' own

    @property
    def description(self) -> str:
        if self.params is not None:
            return self.params.description
        return f"{_LABELS[self.kind]}:{self.path}"


def parse_source(text: str, origin: str = "--data") -> Source:
    text = text.strip()
    if synthetic.is_synthetic(text):
        return Source("synthetic", params=synthetic.parse(text))
    untrusted = text.startswith(keras_npz.UNTRUSTED_PREFIX)
    path = Path(text.removeprefix(keras_npz.UNTRUSTED_PREFIX)).expanduser().absolute()
    if not path.exists():
        raise BenchError(
            f"data source {path} (from {origin}) not found; pass an aclImdb_v1.tar.gz, an aclImdb folder, "
            "an imdb.npz or 'synthetic'"
        )
    if path.is_dir():
        kind = "folder"
    elif untrusted or path.suffix == ".npz" or read_bytes(path, 4) in _ZIP_MAGIC:
        kind = "npz"
    else:
        kind = "archive"
    if untrusted and kind != "npz":
        raise BenchError(f"{keras_npz.UNTRUSTED_PREFIX} applies to an .npz file only, not {path}; drop the prefix")
    return Source(kind, path, allow_untrusted=untrusted)


def resolve_source(data: str | None, cache_root: Path, progress: bool = False) -> Source:
    """``data`` > ``$BENCH_DATA`` > the archive in the user cache > a verified download into it."""
    if data:
        return parse_source(data, "--data")
    if os.environ.get(DATA_ENV, "").strip():
        return parse_source(os.environ[DATA_ENV], f"${DATA_ENV}")
    cached = cache_root / download.ARCHIVE_NAME
    if cached.is_file():
        return Source("archive", cached)
    ensure_writable_dir(cache_root, "cache folder")
    return Source("archive", download.fetch_official(cache_root, progress))


def source_hash(source: Source, spec: Spec) -> str:
    if source.params is not None:
        return source.params.source_hash(spec.vocab_size, spec.maxlen)
    assert source.path is not None
    if source.kind == "folder":
        return aclimdb.folder_hash(source.path)
    return file_sha256(source.path)


def read_corpus(source: Source, spec: Spec) -> Corpus:
    """The encoded reviews, in the source's canonical order."""
    if source.params is not None:
        return synthetic.generate(source.params, spec.vocab_size, spec.maxlen)
    assert source.path is not None
    reader = {"archive": aclimdb.read_archive, "folder": aclimdb.read_folder, "npz": keras_npz.read_npz}[source.kind]
    return reader(source.path, spec.vocab_size)
