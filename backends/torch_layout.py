"""Canonical (Keras) weight layout <-> PyTorch's ``nn.Embedding / nn.RNN|LSTM|GRU / nn.Linear`` layout.

Pure NumPy, so the conversion is testable without PyTorch. Facts (checked against both frameworks'
sources and by the parity tests):

- Keras fuses gates on the *last* axis of ``kernel`` (input_dim, g*u) and ``recurrent_kernel`` (u, g*u);
  torch stacks them on the *first* axis of ``weight_ih_l0`` (g*u, input_dim): a transpose.
- Gate order: LSTM i,f,c,o in both (torch calls c "g"); GRU Keras z,r,h vs torch r,z,n, so the first two
  units-wide blocks swap. SimpleRNN has one block.
- SimpleRNN/LSTM: Keras has one bias; torch adds ``bias_ih + bias_hh``. The matched model puts the whole
  bias in ``bias_ih`` and keeps ``bias_hh`` at zero (frozen by the backend). Converting back sums both,
  which is the effective bias whatever the mode.
- GRU (Keras ``reset_after=True``): bias (2, 3u), row 0 input bias, row 1 recurrent bias = torch's two.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from harness.spec import Spec
from harness.weights import Weights

#: For each cell, torch's gate block j holds Keras' block KERAS_TO_TORCH_GATES[cell][j].
KERAS_TO_TORCH_GATES: dict[str, tuple[int, ...]] = {
    "simplernn": (0,),
    "lstm": (0, 1, 2, 3),  # i, f, c(g), o in both
    "gru": (1, 0, 2),  # torch r, z, n  <-  Keras z, r, h
}

TORCH_NAMES: tuple[str, ...] = (
    "embedding.weight",
    "rnn.weight_ih_l0",
    "rnn.weight_hh_l0",
    "rnn.bias_ih_l0",
    "rnn.bias_hh_l0",
    "fc.weight",
    "fc.bias",
)


def _permute_gates(a: np.ndarray, order: tuple[int, ...], units: int) -> np.ndarray:
    """Reorder the units-wide gate blocks on the last axis of ``a``: block j of the result is block order[j]."""
    blocks = [a[..., g * units : (g + 1) * units] for g in order]
    return np.concatenate(blocks, axis=-1)


def _inverse(order: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(order))


def to_torch(spec: Spec, weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Canonical weights -> arrays keyed by the torch model's state-dict names."""
    order = KERAS_TO_TORCH_GATES[spec.cell]
    u = spec.units
    bias = np.asarray(weights["rnn_bias"])
    if spec.cell == "gru":
        b_ih, b_hh = _permute_gates(bias[0], order, u), _permute_gates(bias[1], order, u)
    else:
        b_ih, b_hh = _permute_gates(bias, order, u), np.zeros_like(bias)
    out = {
        "embedding.weight": np.asarray(weights["embedding"]),
        "rnn.weight_ih_l0": _permute_gates(np.asarray(weights["rnn_kernel"]), order, u).T,
        "rnn.weight_hh_l0": _permute_gates(np.asarray(weights["rnn_recurrent"]), order, u).T,
        "rnn.bias_ih_l0": b_ih,
        "rnn.bias_hh_l0": b_hh,
        "fc.weight": np.asarray(weights["dense_kernel"]).T,
        "fc.bias": np.asarray(weights["dense_bias"]),
    }
    return {name: np.ascontiguousarray(a) for name, a in out.items()}


def from_torch(spec: Spec, state: Mapping[str, np.ndarray], *, gradient: bool = False) -> Weights:
    """Torch state-dict arrays -> canonical layout; ``gradient=True`` converts their gradients instead.

    SimpleRNN/LSTM: the canonical bias is the effective bias ``bias_ih + bias_hh``. Its gradient equals
    the gradient of either torch bias (not their sum), so for gradients ``bias_hh`` is ignored (it may
    also be absent, when frozen).
    """
    order = _inverse(KERAS_TO_TORCH_GATES[spec.cell])
    u = spec.units
    b_ih = np.asarray(state["rnn.bias_ih_l0"])
    if spec.cell == "gru":
        b_hh = np.asarray(state["rnn.bias_hh_l0"])
        bias = np.stack([_permute_gates(b_ih, order, u), _permute_gates(b_hh, order, u)])
    elif gradient:
        bias = _permute_gates(b_ih, order, u)
    else:
        bias = _permute_gates(b_ih + np.asarray(state["rnn.bias_hh_l0"]), order, u)
    out = {
        "embedding": np.asarray(state["embedding.weight"]),
        "rnn_kernel": _permute_gates(np.asarray(state["rnn.weight_ih_l0"]).T, order, u),
        "rnn_recurrent": _permute_gates(np.asarray(state["rnn.weight_hh_l0"]).T, order, u),
        "rnn_bias": bias,
        "dense_kernel": np.asarray(state["fc.weight"]).T,
        "dense_bias": np.asarray(state["fc.bias"]),
    }
    return {name: np.ascontiguousarray(a) for name, a in out.items()}
