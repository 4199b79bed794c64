"""Canonical <-> torch weight conversion (pure NumPy: no framework needed)."""

from __future__ import annotations

import numpy as np
import pytest

from backends.torch_layout import from_torch, to_torch
from harness.spec import CELLS
from harness.weights import initial_weights

from .conftest import TINY


@pytest.mark.parametrize("cell", CELLS)
def test_round_trip_is_exact(cell):
    spec = TINY.replace(cell=cell)
    w = initial_weights(spec, dtype="float64")
    back = from_torch(spec, to_torch(spec, w))
    assert all(np.array_equal(back[n], w[n]) for n in w)


def test_shapes_are_torch_shapes():
    spec = TINY.replace(cell="lstm")
    t = to_torch(spec, initial_weights(spec))
    g, u, e = 4, spec.units, spec.embed_dim
    assert t["rnn.weight_ih_l0"].shape == (g * u, e) and t["rnn.weight_hh_l0"].shape == (g * u, u)
    assert t["fc.weight"].shape == (1, u) and t["rnn.bias_hh_l0"].shape == (g * u,)


def test_gru_swaps_update_and_reset_blocks():
    spec = TINY.replace(cell="gru")
    u = spec.units
    w = initial_weights(spec)
    t = to_torch(spec, w)
    k = w["rnn_kernel"]  # Keras z, r, h  ->  torch r, z, n
    assert np.array_equal(t["rnn.weight_ih_l0"][:u], k[:, u : 2 * u].T)
    assert np.array_equal(t["rnn.weight_ih_l0"][u : 2 * u], k[:, :u].T)
    assert np.array_equal(t["rnn.weight_ih_l0"][2 * u :], k[:, 2 * u :].T)


def test_lstm_keeps_gate_order_and_puts_the_bias_in_bias_ih():
    spec = TINY.replace(cell="lstm")
    w = initial_weights(spec)
    t = to_torch(spec, w)
    assert np.array_equal(t["rnn.weight_ih_l0"], w["rnn_kernel"].T)
    assert np.array_equal(t["rnn.bias_ih_l0"], w["rnn_bias"]) and not t["rnn.bias_hh_l0"].any()


def test_effective_bias_is_the_sum_but_its_gradient_is_not():
    spec = TINY.replace(cell="simplernn")
    t = to_torch(spec, initial_weights(spec))
    t["rnn.bias_ih_l0"] = np.full(spec.units, 0.25)
    t["rnn.bias_hh_l0"] = np.full(spec.units, 0.5)
    assert np.allclose(from_torch(spec, t)["rnn_bias"], 0.75)
    # d loss / d (b_ih + b_hh) == d loss / d b_ih: the frozen bias_hh may be absent from the gradients.
    del t["rnn.bias_hh_l0"]
    assert np.allclose(from_torch(spec, t, gradient=True)["rnn_bias"], 0.25)
