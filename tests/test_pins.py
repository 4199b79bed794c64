"""Values that results from different days are compared by, pinned: the default spec's hash, the initial
weights' fingerprints and the batch order's hash for a fixed spec and seed.

If one of these tests fails, results recorded before the change no longer share that value with new ones:
``bench check``/``bench report`` will see a different spec, or other weights or batches, behind the same
command. Change a pin only on purpose, with a line in CHANGELOG.md saying what moved and why. (The weights
go through NumPy's QR for the orthogonal recurrent kernels, so a NumPy or LAPACK change can move their
fingerprints too: that is a real change of what the jobs start from, and worth the same line.)"""

from __future__ import annotations

import numpy as np
import pytest

from harness.batches import epoch_orders, order_hash
from harness.spec import Spec
from harness.weights import initial_weights, weights_fingerprint

SPEC_HASH = "c5112272a240c152"
WEIGHTS = {
    "simplernn": "35fcafc002001c8619ce53f92ed92819edba77f6d9e250beda0d59d18a36ec39",
    "lstm": "5a0e8b704242a73e193f5d8cca8be168ef275ecc17c7f1077a05da7c61907160",
    "gru": "2d5721f4481b7dab6d4adc586733883ed5a781ac5ffd5a6c542c990c894add40",
}
#: The IMDB run: 20,000 training reviews after the validation split, 10 epochs, seed 0.
BATCH_ORDER = "4a556bd2696773bcd58616e8f7948352786841895f55740aabdc9fc5258f36fc"


def test_default_spec_hash():
    assert Spec().spec_hash == SPEC_HASH


@pytest.mark.parametrize("cell", sorted(WEIGHTS))
def test_initial_weights_fingerprint_of_the_default_spec_seed_0(cell):
    fingerprint = weights_fingerprint(initial_weights(Spec(cell=cell)))
    assert fingerprint == WEIGHTS[cell], f"NumPy {np.__version__}: see this module's docstring"


def test_batch_order_hash_of_the_imdb_run_seed_0():
    assert order_hash(list(epoch_orders(20000, 10, 0))) == BATCH_ORDER
