"""Keras' ``imdb.npz`` (the file ``keras.datasets.imdb.load_data`` caches), encoded as ``load_data`` does.

The file stores ragged reviews as pickled object arrays, so it is only read when its SHA-256 is the one
keras publishes (``keras/src/datasets/imdb.py``) or the caller opts in (``allow_untrusted``). Even then the
pickle stream goes through an unpickler that can only rebuild NumPy arrays (as keras' own
``npz_utils.load_npz`` does), never import anything else.

Encoding: each raw review (word ranks, 1 = most frequent) becomes ``[1] + [w + 3 ...]``, shifted ids
``>= num_words`` become 2; the shuffle and padding are the shared ones in ``encoding``.
"""

from __future__ import annotations

import io
import itertools
import pickle
import zipfile
from pathlib import Path

import numpy as np

from harness.errors import BenchError

from .encoding import INDEX_FROM, Corpus, Ragged, cut_to_vocabulary, with_start
from .files import unreadable

#: ``file_hash`` of imdb.npz in keras/src/datasets/imdb.py (keras 3).
KERAS_IMDB_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
KEYS = ("x_train", "y_train", "x_test", "y_test")
UNTRUSTED_PREFIX = "untrusted-npz:"

_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }
)


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: ANN201 (pickle API)
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def check_trusted(path: Path, sha256: str, allow_untrusted: bool) -> None:
    if sha256 != KERAS_IMDB_SHA256 and not allow_untrusted:
        raise BenchError(
            f"{path} is not keras' imdb.npz (SHA-256 {sha256[:12]}..., expected {KERAS_IMDB_SHA256[:12]}...) and npz files "
            f"hold pickled objects; if you trust it, pass --data {UNTRUSTED_PREFIX}{path}"
        )


def read_npz(path: Path, num_words: int) -> Corpus:
    arrays = _load(path)
    x_train, y_train = _reviews(arrays, "train", num_words, path)
    x_test, y_test = _reviews(arrays, "test", num_words, path)
    return Corpus(x_train, y_train, x_test, y_test)


def _load(path: Path) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name.removesuffix(".npy"): name for name in archive.namelist()}
            missing = [key for key in KEYS if key not in members]
            if missing:
                raise BenchError(
                    f"{path} lacks {', '.join(missing)} (has: {', '.join(sorted(members)) or 'nothing'}); "
                    f"a keras imdb.npz holds {', '.join(KEYS)}"
                )
            return {key: _read_npy(io.BytesIO(archive.read(members[key]))) for key in KEYS}
    except BenchError:
        raise
    except PermissionError as err:
        raise unreadable(path, err) from None
    except (
        zipfile.BadZipFile,
        pickle.PickleError,
        ValueError,
        EOFError,
        OSError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
    ) as err:
        raise BenchError(
            f"cannot read {path}: truncated, corrupt or not an imdb.npz ({err}); download it again"
        ) from None


def _read_npy(stream: io.BytesIO) -> np.ndarray:
    version = np.lib.format.read_magic(stream)
    header = np.lib.format.read_array_header_1_0 if version[0] == 1 else np.lib.format.read_array_header_2_0
    shape, _, dtype = header(stream)
    if not dtype.hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    array = _ArraysOnlyUnpickler(stream).load()
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise ValueError("object array does not match its header")
    return array


def _reviews(arrays: dict[str, np.ndarray], split: str, num_words: int, path: Path) -> tuple[Ragged, np.ndarray]:
    x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
    if x.ndim not in (1, 2) or y.ndim != 1 or len(x) != len(y):
        raise BenchError(f"{path}: x_{split} and y_{split} must be one review and one label per row; not an imdb.npz")
    if y.dtype.kind not in "iub" or not np.isin(y, (0, 1)).all():
        raise BenchError(f"{path}: y_{split} must hold labels 0 and 1 only; not an imdb.npz")
    try:
        lengths = np.fromiter(map(len, x), dtype=np.int64, count=len(x))
        words = np.fromiter(itertools.chain.from_iterable(x), dtype=np.int64, count=int(lengths.sum()))
    except (TypeError, ValueError, OverflowError):
        raise BenchError(f"{path}: x_{split} must hold lists of integer word ranks; not an imdb.npz") from None
    return with_start(cut_to_vocabulary(words + INDEX_FROM, num_words), lengths), y.astype(np.int8)
