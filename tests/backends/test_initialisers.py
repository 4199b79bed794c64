"""harness.weights draws Keras' default initialisers (checked against keras/src/initializers and layers)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.spec import CELLS, Spec
from harness.weights import expected_shapes, initial_weights

SPEC = Spec()  # the real shapes: statistics need many draws


@pytest.mark.parametrize("cell", CELLS)
def test_recurrent_kernel_has_orthonormal_rows(cell):
    r = initial_weights(SPEC.replace(cell=cell), dtype="float64")["rnn_recurrent"]
    assert r.shape == expected_shapes(SPEC.replace(cell=cell))["rnn_recurrent"]
    assert np.allclose(r @ r.T, np.eye(SPEC.units), atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_kernels_are_glorot_uniform_over_the_fused_matrix(cell):
    w = initial_weights(SPEC.replace(cell=cell), dtype="float64")
    for name in ("rnn_kernel", "dense_kernel"):
        fan_in, fan_out = w[name].shape
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        assert np.abs(w[name]).max() <= limit
        if w[name].size >= 1000:  # uniform(-l, l): variance l^2/3, and the extremes come near l
            assert np.var(w[name]) == pytest.approx(limit**2 / 3, rel=0.1)
            assert np.abs(w[name]).max() > 0.98 * limit


def test_embedding_is_uniform_005():
    e = initial_weights(SPEC, dtype="float64")["embedding"]
    assert np.abs(e).max() <= 0.05 and np.abs(e).max() > 0.0499
    assert np.var(e) == pytest.approx(0.05**2 / 3, rel=0.02)


@pytest.mark.parametrize("cell", CELLS)
def test_biases(cell):
    spec = SPEC.replace(cell=cell)
    w = initial_weights(spec)
    u = spec.units
    expected = np.zeros(expected_shapes(spec)["rnn_bias"])
    if cell == "lstm":
        expected[u : 2 * u] = 1.0  # unit_forget_bias: gate order i, f, c, o
    assert np.array_equal(w["rnn_bias"], expected) and not w["dense_bias"].any()


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = (initial_weights(SPEC, seed=s) for s in (0, 0, 1))
    assert all(np.array_equal(a[n], b[n]) for n in a)
    assert not np.array_equal(a["embedding"], c["embedding"])
