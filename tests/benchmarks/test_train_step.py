"""One training step per backend x cell, with the real step code, at a small spec (seconds in all)."""

from __future__ import annotations

import numpy as np
import pytest

from backends.base import BackendOptions, load_backend
from harness.spec import CELLS, Spec
from harness.weights import initial_weights

from .conftest import THREADS

SPEC = Spec(vocab_size=500, embed_dim=16, units=16, maxlen=50, batch_size=32)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("backend_name", ["keras", "torch"])
def test_train_step(benchmark, backend_name, cell):
    spec = SPEC.replace(cell=cell)
    backend = load_backend(backend_name)(BackendOptions(threads=THREADS))
    backend.build(spec, initial_weights(spec), mode="matched")
    rng = np.random.default_rng(0)
    x = rng.integers(0, spec.vocab_size, (spec.batch_size, spec.maxlen), dtype=np.int32)
    y = rng.integers(0, 2, spec.batch_size).astype(np.float32)
    benchmark.group = f"train_step[{cell}]"
    benchmark.extra_info.update(backend=backend_name, cell=cell, spec_hash=spec.spec_hash)
    result = benchmark.pedantic(backend.train_step, args=(x, y), rounds=30, iterations=1, warmup_rounds=5)
    assert np.isfinite(result.loss) and 0.0 <= result.accuracy <= 1.0
