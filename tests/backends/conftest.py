"""Shared fixtures for the backend and parity tests: tiny shapes so every check runs in seconds."""

from __future__ import annotations

import numpy as np
import pytest

from harness.parity import parity_batches
from harness.spec import Spec

#: Small enough for seconds, big enough that tokens repeat within a batch (the embedding quirk shows), and
#: with labels that carry a signal: the parity batches give word ids from harness.parity.POLARITY_MIN_ID up
#: a polarity, so the vocabulary must reach well above it, and reviews must be long enough to hold such
#: words (a bag-of-words fit predicts held-out labels at 0.59 here, 0.50 at vocab 50: coin flips;
#: test_parity.py checks it). embed_dim == units keeps both SimpleRNN kernels square, so a dropped transpose
#: keeps valid shapes (the negative controls rely on it).
TINY = Spec(vocab_size=500, embed_dim=8, units=8, maxlen=64, batch_size=16, epochs=1)
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
    """Batch number ``seed`` of the parity data for ``spec`` (padded, Zipf-distributed words, a start token,
    labels that follow the words' polarity): what ``bench parity`` trains on."""
    return parity_batches(spec, seed + 1, spec.seed)[seed]
