"""Atomic file writes: write a temporary file in the same folder, fsync, then rename over the target.

A crash or Ctrl-C mid-write leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import BenchError


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one rename."""
    target = Path(path)
    binary = "b" in mode
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise BenchError(f"cannot write to {target.parent}: {err.strerror or err}; choose a writable folder") from None
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; give the file the permissions a plain open() would (umask applies).
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb", encoding=None) as handle:
        handle.write(data)


def write_json(path: str | Path, obj: Any) -> None:
    # allow_nan=False: a NaN in a record would make it unreadable to strict JSON parsers; the caller
    # must turn non-finite values into None first.
    write_text(path, json.dumps(obj, indent=1, sort_keys=False, allow_nan=False) + "\n")


def ensure_writable_dir(path: str | Path, what: str = "folder") -> Path:
    """Create ``path`` if needed and prove it is writable now (fail fast, before any long work)."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise BenchError(
            f"{what} {p} is not writable ({err.strerror or err}); choose another with the option or fix its permissions"
        ) from None
    return p
