"""Trainable parameter counts: every backend equals Keras' count in matched mode (IMDB spec totals)."""

from __future__ import annotations

import pytest

from harness.spec import Spec
from harness.weights import initial_weights, trainable_parameter_count

IMDB_TOTALS = {"simplernn": 322_113, "lstm": 328_353, "gru": 326_369}
#: torch's own layers add bias_hh (units * gates) for SimpleRNN and LSTM; GRU already has two biases in Keras.
TORCH_NATIVE_EXTRA = {"simplernn": 32, "lstm": 128, "gru": 0}


@pytest.mark.parametrize("cell", IMDB_TOTALS)
def test_imdb_totals(backends, cell):
    spec = Spec(cell=cell)
    assert trainable_parameter_count(spec) == IMDB_TOTALS[cell]
    weights = initial_weights(spec)
    for name, backend in backends.items():
        backend.build(spec, weights, mode="matched")
        assert backend.trainable_parameter_count() == IMDB_TOTALS[cell], name
    backends["torch"].build(spec, None, mode="native")
    assert backends["torch"].trainable_parameter_count() == IMDB_TOTALS[cell] + TORCH_NATIVE_EXTRA[cell]
