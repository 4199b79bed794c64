"""Atomic file writes: write a temporary file in the same folder, fsync, then rename over the target.

A crash or Ctrl-C mid-write leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import BenchError

#: Errors of the disk or the folder, not of the data being written: each has its own fix.
_WRITE_FIXES: dict[int, str] = {
    errno.ENOSPC: "free space on that disk, or write somewhere else",
    errno.EDQUOT: "your disk quota is used up: free space, or write somewhere else",
    errno.EFBIG: "the file is too large for that filesystem: write somewhere else",
    errno.EROFS: "that filesystem is read-only: choose a writable folder",
    errno.EACCES: "fix the folder's permissions or choose another folder",
    errno.EPERM: "fix the folder's permissions or choose another folder",
    errno.ENOTDIR: "part of that path is a file, not a folder: choose another path",
    errno.EISDIR: "a folder is in the way: choose another path",
    errno.EIO: "the disk reported an I/O error: check it, or write somewhere else",
}


def write_error(path: str | Path, err: OSError) -> BenchError:
    """One line naming the path, what the OS said and what to do about it."""
    fix = _WRITE_FIXES.get(err.errno or 0, "check that folder and its disk, or write somewhere else")
    return BenchError(f"cannot write {path}: {err.strerror or err}; {fix}")


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one rename.

    An OS error of the disk or folder (full disk, permissions, read-only filesystem), while creating or
    writing the file, becomes a ``BenchError`` naming ``path``: the target is left as it was."""
    target = Path(path)
    binary = "b" in mode
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise write_error(target, err) from None
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; give the file the permissions a plain open() would (umask applies).
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        # Only the disk's and folder's errors: an OSError of what the caller reads while writing (a
        # network download, say) keeps its own meaning.
        if err.errno in _WRITE_FIXES:
            raise write_error(target, err) from None
        raise
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
        fix = _WRITE_FIXES.get(err.errno or 0, "choose another with the option or fix its permissions")
        raise BenchError(f"{what} {p} is not writable ({err.strerror or err}); {fix}") from None
    return p
