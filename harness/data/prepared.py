"""One prepared Dataset in one ``.npz`` file, without pickle: the cache entry format, and the file the
runner hands each worker process.

Members: the six arrays (reviews stored as uint16 when the ids fit, read back as int32), per-review word
and OOV counts, and ``meta``: UTF-8 JSON (source, source_hash, fingerprint) as a uint8 array. Written
atomically; read with ``allow_pickle=False``; the fingerprint is recomputed and must match.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from harness.atomic import atomic_open
from harness.errors import BenchError

from .dataset import SPLITS, Dataset, Rows, make_dataset

FORMAT = "rnn-bench-prepared"
FORMAT_VERSION = 1


def save_prepared(ds: Dataset, path: str | Path) -> None:
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "source": ds.source,
        "source_hash": ds.source_hash,
        "fingerprint": ds.fingerprint,
    }
    members = {name: _compact(array) if name.startswith("x_") else array for name, array in ds.arrays().items()}
    for split in SPLITS:
        members[f"lengths_{split}"] = ds.lengths[split]
        members[f"oov_{split}"] = ds.oov_counts[split]
    members["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with atomic_open(path, "wb", encoding=None) as handle:
        np.savez(handle, **members)


def load_prepared(path: str | Path) -> Dataset:
    """Read a file written by ``save_prepared``; BenchError if it is missing, corrupt or altered."""
    path = Path(path)
    fix = "delete it and prepare the data again"
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode())
            if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
                raise BenchError(f"{path} is not an rnn-bench prepared data file (version {FORMAT_VERSION}); {fix}")
            splits = {
                split: Rows(
                    npz[f"x_{split}"].astype(np.int32),
                    npz[f"y_{split}"].astype(np.float32),
                    npz[f"lengths_{split}"],
                    npz[f"oov_{split}"],
                )
                for split in SPLITS
            }
            ds = make_dataset(splits, meta["source"], meta["source_hash"])
    except FileNotFoundError:
        raise BenchError(f"prepared data file {path} not found; {fix}") from None
    except BenchError:
        raise
    except (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, zipfile.BadZipFile, AttributeError) as err:
        raise BenchError(f"prepared data file {path} is unreadable or corrupt ({err}); {fix}") from None
    if ds.fingerprint != meta.get("fingerprint"):
        raise BenchError(f"prepared data file {path} does not match its fingerprint (altered or corrupt); {fix}")
    return ds


def _compact(x: np.ndarray) -> np.ndarray:
    # Ids are < vocab_size; uint16 halves the file (and the cached load time) for any vocabulary <= 65536.
    return x.astype(np.uint16) if x.size == 0 or (x.min() >= 0 and x.max() <= np.iinfo(np.uint16).max) else x
