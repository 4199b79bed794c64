"""Matched-mode parity of the keras and torch backends at tiny shapes, and negative controls: breaking
one conversion detail makes the parity check fail."""

from __future__ import annotations

import numpy as np
import pytest

import backends.torch_layout as layout
from backends.base import BackendOptions
from backends.keras_tf import KerasBackend
from backends.torch_eager import TorchBackend
from harness.parity import check_cell
from harness.spec import CELLS
from harness.weights import initial_weights

from .conftest import THREADS, TINY, batch

STEPS = 8


def failed(result) -> set[str]:
    return {c.name for c in result.checks if not c.passed}


def check(result, name: str):
    return next(c for c in result.checks if c.name == name)


@pytest.mark.parametrize("cell", CELLS)
def test_float64_agrees_to_rounding(backends, cell):
    result = check_cell(backends, TINY.replace(cell=cell), STEPS, "float64")
    assert result.passed, result
    assert max(c.delta for c in result.checks if c.name != "param_count") < 1e-13


@pytest.mark.parametrize("cell", CELLS)
def test_default_plan_passes(backends, cell):
    """float32 (SimpleRNN's multi-step in float64), the documented tolerances."""
    result = check_cell(backends, TINY.replace(cell=cell), STEPS)
    assert result.passed, result
    assert {c.name for c in result.checks} == {"load", "forward", "gradients", "param_count", "parameters", "losses"}
    assert result.param_counts == {"keras": result.expected_params, "torch": result.expected_params}


def test_per_step_accuracy_and_evaluate_agree(backends):
    """train_step returns the batch's values (Keras metrics would otherwise accumulate across calls), and
    evaluate is the sample-weighted mean, partial last batch included."""
    spec = TINY.replace(cell="gru")
    for b in backends.values():
        b.build(spec, initial_weights(spec, dtype="float64"), dtype="float64")
    for seed in range(3):
        x, y = batch(spec, seed)
        k, t = (b.train_step(x, y) for b in backends.values())
        assert k.loss == pytest.approx(t.loss, abs=1e-12) and k.accuracy == t.accuracy
    x = np.concatenate([batch(spec, s)[0] for s in range(3)])[:40]  # 16 + 16 + 8
    y = np.concatenate([batch(spec, s)[1] for s in range(3)])[:40]
    k, t = (b.evaluate(x, y, spec.batch_size) for b in backends.values())
    assert k.loss == pytest.approx(t.loss, abs=1e-12) and k.accuracy == t.accuracy


def test_loss_is_computed_from_logits(backends):
    """A saturated sigmoid: Keras' binary_crossentropy uses the logit (30.0), not clipped probabilities (~16.1)."""
    spec = TINY.replace(cell="lstm")
    w = initial_weights(spec, dtype="float64")
    w["dense_kernel"][:] = 0.0
    w["dense_bias"][:] = 30.0
    x, _ = batch(spec)
    y = np.zeros(spec.batch_size, dtype=np.float32)
    for b in backends.values():
        b.build(spec, w, dtype="float64")
        assert b.evaluate(x, y, spec.batch_size).loss == pytest.approx(30.0, abs=1e-9)


# -- negative controls ---------------------------------------------------------------------------------
def _with_torch(backends, **extra):
    return {"keras": backends["keras"], "torch": TorchBackend(BackendOptions(threads=THREADS, extra=extra))}


def test_control_gru_without_gate_swap(backends, monkeypatch):
    monkeypatch.setitem(layout.KERAS_TO_TORCH_GATES, "gru", (0, 1, 2))
    assert {"forward", "gradients"} <= failed(check_cell(backends, TINY.replace(cell="gru"), 2))


def test_control_lstm_with_c_and_o_swapped(backends, monkeypatch):
    monkeypatch.setitem(layout.KERAS_TO_TORCH_GATES, "lstm", (0, 1, 3, 2))
    assert {"forward", "gradients"} <= failed(check_cell(backends, TINY.replace(cell="lstm"), 2))


class WrongSemanticsTorch(TorchBackend):
    """torch claiming keras' parity group while its optimizer uses the other group's (dense) semantics."""

    @classmethod
    def group_for(cls, extra):
        return "tf-sparse"


def test_control_wrong_optimizer_semantics(backends):
    """torch with dense embedding velocity, compared inside keras' group: the model and gradients still
    agree, training does not (only the optimizer is wrong)."""
    torch = WrongSemanticsTorch(BackendOptions(threads=THREADS, extra={"optimizer_semantics": "dense"}))
    result = check_cell({"keras": backends["keras"], "torch": torch}, TINY.replace(cell="lstm"), 2)
    assert "parameters" in failed(result) and not {"forward", "gradients", "param_count"} & failed(result)
    assert check(result, "parameters").per_tensor["embedding"] > 1e-4


def test_dense_semantics_is_its_own_group(backends):
    """The same torch with its group declared honestly: no training check across groups, and the
    cross-group difference sits only in the embedding rows of tokens repeated in the first batch."""
    result = check_cell(_with_torch(backends, optimizer_semantics="dense"), TINY.replace(cell="lstm"), 2)
    assert result.passed and "parameters" not in {c.name for c in result.checks}
    (cross,) = result.cross_groups
    assert cross.groups == ("tf-sparse", "dense") and cross.references == ("keras", "torch")
    assert cross.repeated_rows > 1e-4 and cross.rest < 1e-6 and cross.parameters > 1e-4


@pytest.mark.parametrize("cell", ["simplernn", "lstm"])
def test_control_trainable_bias_hh(backends, cell):
    result = check_cell(_with_torch(backends, freeze_bias_hh=False), TINY.replace(cell=cell), 2)
    assert {"param_count", "parameters"} <= failed(result)
    assert result.param_counts["torch"] == result.expected_params + TINY.units * TINY.replace(cell=cell).gates


class GruSwapKeras(KerasBackend):
    """The shared Keras conversion (backends.keras_model, used by every Keras engine) with GRU's z and r
    gate blocks swapped: a conversion bug in the new code the parity check must catch."""

    def _to_keras(self, spec, weights, dtype):
        arrays = super()._to_keras(spec, weights, dtype)
        if spec.cell == "gru":
            u = spec.units
            arrays[1:4] = [
                np.concatenate([a[..., u : 2 * u], a[..., :u], a[..., 2 * u :]], axis=-1) for a in arrays[1:4]
            ]
        return arrays


def test_control_gru_gate_swap_in_the_keras_conversion(backends):
    broken = GruSwapKeras(BackendOptions(threads=THREADS))
    result = check_cell({"torch": backends["torch"], "keras": broken}, TINY.replace(cell="gru"), 2)
    assert {"load", "forward", "gradients", "parameters"} <= failed(result)
