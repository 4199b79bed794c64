"""Shared fixtures for the backend and parity tests: tiny shapes so every check runs in seconds."""

from __future__ import annotations

import numpy as np
import pytest

from harness.spec import Spec

#: Small enough for seconds, big enough that tokens repeat within a batch (the embedding quirk shows).
TINY = Spec(vocab_size=50, embed_dim=8, units=8, maxlen=12, batch_size=16, epochs=1)
#: TensorFlow's thread pools can be pinned once per process: every in-process test uses this.
THREADS = 1


def open_backends(names: list[str], threads: int = THREADS) -> dict:
    """Backends constructed in this process (keras on TensorFlow and torch can share one; the other Keras
    engines cannot: they run in processes of their own, see test_engines)."""
    from backends.base import BackendOptions, load_backend

    return {name: load_backend(name)(BackendOptions(threads=threads)) for name in names}


@pytest.fixture(scope="session")
def backends():
    """One keras and one torch backend for the whole session (rebuilt per test with ``build``)."""
    return open_backends(["keras", "torch"])


@pytest.fixture(scope="session")
def keras_backend(backends):
    return backends["keras"]


@pytest.fixture(scope="session")
def torch_backend(backends):
    return backends["torch"]


def batch(spec: Spec = TINY, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, spec.vocab_size, size=(spec.batch_size, spec.maxlen)).astype(np.int32)
    y = rng.integers(0, 2, size=spec.batch_size).astype(np.float32)
    return x, y
