"""Reading source files with one-line errors instead of tracebacks."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from harness.errors import BenchError


def open_binary(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as err:
        raise unreadable(path, err) from None


def read_bytes(path: Path, limit: int = -1) -> bytes:
    with open_binary(path) as handle:
        try:
            return handle.read(limit)
        except OSError as err:
            raise unreadable(path, err) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_binary(path) as handle:
        try:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        except OSError as err:
            raise unreadable(path, err) from None
    return digest.hexdigest()


def unreadable(path: Path, err: OSError) -> BenchError:
    return BenchError(f"cannot read {path} ({err.strerror or err}); fix its permissions or pass another source")
