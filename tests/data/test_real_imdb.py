"""The real aclImdb_v1.tar.gz from ../shared/data (28 MB): sizes, balance and a stable fingerprint."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from harness.data import load_dataset
from harness.spec import Spec

ARCHIVE = Path(__file__).resolve().parents[3] / "shared" / "data" / "aclImdb_v1.tar.gz"
SHA256 = "39313a6c1abf2f22684c64bc635d815c51e67b0794641d39f0087d0310c3d3a0"
#: Fingerprint at the default spec. If a pipeline change moves it on purpose, bump
#: harness.data.cache.PIPELINE_VERSION and update it here (results record it).
FINGERPRINT = "4b9d60229b04c502b6013abe7f0346302601d4b3bd519366bbaf2be1532e07db"


@pytest.mark.slow
@pytest.mark.skipif(not ARCHIVE.is_file(), reason=f"{ARCHIVE} is not here")
def test_real_archive(tmp_path):
    spec = Spec()
    first = load_dataset(spec, str(ARCHIVE), cache_dir=tmp_path)
    started = time.perf_counter()
    second = load_dataset(spec, str(ARCHIVE), cache_dir=tmp_path)
    cached_s = time.perf_counter() - started
    assert first.source_hash == SHA256
    assert (len(first.y_train), len(first.y_val), len(first.y_test)) == (20000, 5000, 25000)
    assert first.x_train.shape == (20000, 500) and first.x_train.dtype == np.int32
    labels = np.concatenate([first.y_train, first.y_val])
    assert labels.sum() == 12500 and first.y_test.sum() == 12500  # exactly balanced in both splits
    assert 0.45 < first.stats["train"]["positive_share"] < 0.55
    assert first.x_train.max() == spec.vocab_size - 1 and (first.x_train[:, -1] > 0).all()
    assert first.fingerprint == second.fingerprint == FINGERPRINT
    # Reference figures of this copy (shared/data/README.md): mean about 234 words, median 174, max 2,473.
    assert 230 < first.stats["train"]["length_mean"] < 240 and first.stats["train"]["length_max"] == 2473
    assert cached_s < 5  # generous here; scripts/benchmarks/bench_data.py measures it properly
