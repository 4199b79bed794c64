"""Matched-mode parity of the keras and torch backends at tiny shapes, and negative controls: breaking
one conversion detail makes the parity check fail."""

from __future__ import annotations

import numpy as np
import pytest

import backends.torch_layout as layout
from backends.base import BackendOptions
from backends.keras_tf import KerasBackend
from backends.torch_eager import TorchBackend
from harness.parity import check_cell, parity_batches, tolerance
from harness.spec import CELLS
from harness.weights import initial_weights

from .conftest import THREADS, TINY, batch

STEPS = 8
#: Share of held-out labels a bag-of-words fit predicts from the TINY parity batches: measured 0.59 (vocab
#: 500, length 64), 0.50 at vocab 50 (every word below the polarity cut-off: coin flips). 3,200 held-out
#: labels put coin flips at 0.50 +- 0.009: 0.55 is beyond five standard errors.
SIGNAL_MIN = 0.55


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


def held_out_accuracy(spec, batches: int = 400) -> float:
    """Fit bag-of-words least squares on half the parity reviews; the share of the other half's labels
    it gets right (0.5: the labels carry no signal the words could show)."""
    data = parity_batches(spec, batches, spec.seed)
    x, y = np.concatenate([b[0] for b in data]), np.concatenate([b[1] for b in data])
    bow = np.zeros((len(x), spec.vocab_size))
    np.add.at(bow, (np.repeat(np.arange(len(x)), x.shape[1]), x.ravel()), 1.0)
    half = len(x) // 2
    fit, target = bow[:half], y[:half] - 0.5
    w = np.linalg.solve(fit.T @ fit + np.eye(spec.vocab_size), fit.T @ target)
    return float(((bow[half:] @ w > 0) == (y[half:] > 0.5)).mean())


def test_the_tiny_parity_data_carries_signal():
    """The parity tests train on labels the words predict, as IMDB's do, not on coin flips."""
    assert held_out_accuracy(TINY) >= SIGNAL_MIN
    assert held_out_accuracy(TINY.replace(vocab_size=50)) < SIGNAL_MIN  # the old shape: coin flips


# -- negative controls ---------------------------------------------------------------------------------
def _with_torch(backends, **extra):
    return {"keras": backends["keras"], "torch": TorchBackend(BackendOptions(threads=THREADS, extra=extra))}


@pytest.mark.parametrize("tensor", ["rnn.weight_ih_l0", "rnn.weight_hh_l0"])
def test_control_simplernn_without_a_transpose(backends, monkeypatch, tensor):
    """SimpleRNN's kernels are square here (embed_dim == units), so a dropped transpose loads without a
    shape error: only the numbers show it, at init already."""
    convert = layout.to_torch

    def untransposed(spec, weights):
        arrays = convert(spec, weights)
        return {**arrays, tensor: np.ascontiguousarray(arrays[tensor].T)}

    monkeypatch.setattr(layout, "to_torch", untransposed)
    result = check_cell(backends, TINY.replace(cell="simplernn"), 2)
    assert {"forward", "gradients", "parameters", "losses"} <= failed(result)
    assert check(result, "forward").delta > 100 * check(result, "forward").tolerance


def bias_rows_swapped_on_load(to_torch):
    """``to_torch`` that puts Keras' GRU input bias row into torch's recurrent bias and vice versa."""

    def swapped(spec, weights):
        arrays = to_torch(spec, weights)
        return {**arrays, "rnn.bias_ih_l0": arrays["rnn.bias_hh_l0"], "rnn.bias_hh_l0": arrays["rnn.bias_ih_l0"]}

    return swapped


def test_control_gru_bias_rows_swapped(backends, monkeypatch):
    """Reading Keras' GRU bias rows the wrong way round (input <-> recurrent), both ways: the biases start
    at zero, so the forward pass at init cannot show it; the gradients (the recurrent bias of the new gate
    is multiplied by the reset gate, the input one is not) and the parameters after a step do."""
    from_torch = layout.from_torch

    def swapped_out(spec, state, gradient=False):
        weights = from_torch(spec, state, gradient=gradient)
        return {**weights, "rnn_bias": np.ascontiguousarray(weights["rnn_bias"][::-1])}

    monkeypatch.setattr(layout, "to_torch", bias_rows_swapped_on_load(layout.to_torch))
    monkeypatch.setattr(layout, "from_torch", swapped_out)
    result = check_cell(backends, TINY.replace(cell="gru"), 2)
    assert failed(result) == {"gradients", "parameters"}
    assert max(check(result, "gradients").per_tensor, key=check(result, "gradients").per_tensor.get) == "rnn_bias"
    assert max(check(result, "parameters").per_tensor, key=check(result, "parameters").per_tensor.get) == "rnn_bias"


def test_control_gru_bias_rows_swapped_on_load_needs_a_step(backends, monkeypatch):
    """Swapped only when loading: from the zero init nothing differs. Weights after one training step have
    non-zero bias rows; loading those shows the swap (and the worker's built-weights fingerprint would)."""
    spec = TINY.replace(cell="gru")
    keras, torch = backends["keras"], backends["torch"]
    # float64: one step moves the biases by ~1e-3 only, so the swap costs ~5e-6 in the output, at the
    # float32 tolerance; in float64 the two frameworks agree to ~1e-16.
    keras.build(spec, initial_weights(spec, dtype="float64"), dtype="float64")
    keras.train_step(*batch(spec, 0))
    stepped = keras.get_weights()
    assert np.abs(stepped["rnn_bias"][0] - stepped["rnn_bias"][1]).max() > 1e-4
    x = batch(spec, 1)[0]
    expected = keras.predict(x)
    limit = tolerance("forward", "float64").limit

    torch.build(spec, stepped, dtype="float64")
    assert np.abs(torch.predict(x) - expected).max() <= limit
    monkeypatch.setattr(layout, "to_torch", bias_rows_swapped_on_load(layout.to_torch))
    torch.build(spec, stepped, dtype="float64")
    assert np.abs(torch.predict(x) - expected).max() > 1e5 * limit
    assert not np.array_equal(torch.get_weights()["rnn_bias"], stepped["rnn_bias"])


@pytest.mark.parametrize("setting", [{"rho": 0.99}, {"eps": 1e-8}], ids=["torch-rho", "torch-epsilon"])
def test_control_rmsprop_with_torchs_constants(backends, monkeypatch, setting):
    """Keras' RMSprop update with torch's alpha (0.99) or epsilon (1e-8) in place of Keras' rho (0.9) and
    epsilon (1e-7): model and gradients agree, training does not (only the optimizer is wrong)."""
    import backends.torch_rmsprop as rmsprop  # imports torch: only once the backends are pinned

    keras_rmsprop = rmsprop.KerasRMSprop
    monkeypatch.setattr(rmsprop, "KerasRMSprop", lambda params, **kw: keras_rmsprop(params, **{**kw, **setting}))
    result = check_cell(backends, TINY.replace(cell="lstm"), 2)
    assert "parameters" in failed(result) and not {"forward", "gradients", "param_count"} & failed(result)
    assert check(result, "parameters").delta > 10 * check(result, "parameters").tolerance


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
