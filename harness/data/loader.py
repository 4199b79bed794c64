"""``load_dataset``: resolve the source, then return the cached prepared arrays or prepare (and cache) them."""

from __future__ import annotations

import contextlib
import dataclasses
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path
from typing import Any

from harness.spec import Spec

from .cache import PreparedCache, cache_key, user_cache_dir
from .dataset import Dataset, from_corpus
from .keras_npz import check_trusted
from .source import read_corpus, resolve_source, source_hash


def load_dataset(
    spec: Spec, data: str | None = None, cache_dir: str | Path | None = None, progress: bool = False
) -> Dataset:
    """The dataset for ``spec`` from ``data`` (see ``source``); ``progress`` reports on stderr.

    Synthetic data is generated each time (milliseconds); every other source is prepared once per
    (source content, vocab_size, maxlen, validation_split) and then read from the user cache."""
    root = user_cache_dir(cache_dir)
    source = resolve_source(data, root, progress)
    src_hash = source_hash(source, spec)
    if source.kind == "synthetic":
        return from_corpus(read_corpus(source, spec), spec.maxlen, spec.validation_split, source.description, src_hash)
    if source.kind == "npz":
        check_trusted(source.path, src_hash, source.allow_untrusted)
    cache = PreparedCache(root)
    cache.ensure_writable()
    key = cache_key(src_hash, spec)
    cached = cache.get(key)
    if cached is not None:
        return dataclasses.replace(cached, source=source.description)  # same content, maybe another path
    with _status(progress, f"preparing {source.description} (once; then cached in {cache.folder})"):
        ds = from_corpus(read_corpus(source, spec), spec.maxlen, spec.validation_split, source.description, src_hash)
        cache.put(key, ds)
    return ds


def _status(enabled: bool, message: str) -> ContextManager[Any]:
    """A transient spinner on stderr in a terminal (it leaves nothing behind, e.g. before an error line)."""
    if not enabled:
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)
