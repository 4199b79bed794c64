"""Batch order: made by the harness with NumPy from the seed, identical for every backend.

The frameworks' own shuffling is never used (Keras' fit(shuffle=True) cannot be reproduced outside TF).
Each epoch gets its own permutation of the training indices; the last partial batch is kept, as Keras does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np


def epoch_orders(n: int, epochs: int, seed: int) -> Iterator[np.ndarray]:
    """One permutation of range(n) per epoch, from a generator seeded by ``seed`` only."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xBA7C4]))
    for _ in range(epochs):
        yield rng.permutation(n)


def batch_slices(n: int, batch_size: int) -> list[slice]:
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def order_hash(orders: list[np.ndarray]) -> str:
    """SHA-256 over every epoch's order: equal hashes prove two jobs saw the same batches in order."""
    h = hashlib.sha256()
    for order in orders:
        h.update(np.ascontiguousarray(order, dtype=np.int64).tobytes())
        h.update(b"|")
    return h.hexdigest()
