"""The user cache: the downloaded archive and prepared datasets (``prepared/<key>.npz``, no pickle).

Location: the ``cache_dir`` argument, else ``$BENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/rnn-bench``, else
``~/.cache/rnn-bench``. An entry's key covers everything its arrays depend on: the source's hash, the spec
fields the pipeline uses (vocab_size, maxlen, validation_split) and ``PIPELINE_VERSION``. Entries are
written atomically; one that fails to load or to match its fingerprint is treated as missing.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from harness.atomic import ensure_writable_dir
from harness.errors import BenchError
from harness.spec import Spec

from .dataset import Dataset
from .prepared import load_prepared, save_prepared

#: Bump whenever the tokenizer, the encoding or the array layout changes.
PIPELINE_VERSION = 1
CACHE_ENV = "BENCH_CACHE_DIR"


def user_cache_dir(cache_dir: str | Path | None = None) -> Path:
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rnn-bench"


def cache_key(source_hash: str, spec: Spec) -> str:
    fields = {
        "pipeline": PIPELINE_VERSION,
        "source_hash": source_hash,
        "vocab_size": spec.vocab_size,
        "maxlen": spec.maxlen,
        "validation_split": spec.validation_split,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


class PreparedCache:
    def __init__(self, root: Path) -> None:
        self.folder = root / "prepared"

    def ensure_writable(self) -> None:
        """Fail now, before a long preparation, if the entry could not be written afterwards."""
        try:
            ensure_writable_dir(self.folder, "cache folder")
        except BenchError as err:
            raise BenchError(f"{err} (set {CACHE_ENV} to a writable folder)") from None

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def get(self, key: str) -> Dataset | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return load_prepared(path)
        except BenchError:
            return None  # corrupt or altered: prepare again and overwrite it

    def put(self, key: str, ds: Dataset) -> None:
        save_prepared(ds, self.path(key))
