"""Download a file with SHA-256 verification and a progress bar; the file appears only if its hash is right."""

from __future__ import annotations

import contextlib
import hashlib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.atomic import atomic_open
from harness.errors import BenchError

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
#: SHA-256 of the official archive (84,125,825 bytes), as published by e.g. TensorFlow Datasets.
OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
ARCHIVE_NAME = "aclImdb_v1.tar.gz"
_CHUNK = 1 << 20


def fetch(url: str, dest: Path, sha256: str, progress: bool = False, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` atomically; BenchError (and no file) if it fails or the hash differs."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_open(dest, "wb", encoding=None) as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with _progress_bar(progress, total, dest.name) as advance:
                while chunk := response.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    advance(len(chunk))
            if digest.hexdigest() != sha256:
                raise BenchError(
                    f"download of {url} has SHA-256 {digest.hexdigest()[:12]}..., expected {sha256[:12]}...; "
                    "not kept: retry, or pass --data PATH to a verified copy"
                )
    except urllib.error.HTTPError as err:
        raise BenchError(
            f"cannot download {url} (HTTP {err.code} {err.reason}); pass --data PATH to a local copy"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise BenchError(
            f"cannot download {url} ({reason}); check the connection or pass --data PATH to a local copy"
        ) from None
    return dest


def fetch_official(cache_root: Path, progress: bool = False) -> Path:
    return fetch(OFFICIAL_URL, cache_root / ARCHIVE_NAME, OFFICIAL_SHA256, progress)


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n_bytes)``: a rich bar on stderr when enabled, else a no-op."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    columns = ("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    # Transient: in a terminal the bar goes away when done; elsewhere (logs, pipes) rich prints nothing.
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"downloading {label}", total=total)
        yield lambda n: bar.advance(task, n)
