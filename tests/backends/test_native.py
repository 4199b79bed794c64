"""Native mode: each framework as a typical user writes it, its own initialisers and its own RMSprop."""

from __future__ import annotations

import numpy as np
import pytest

from harness.weights import initial_weights

from .conftest import TINY, batch

#: The first RMSprop step from a zero velocity, per framework's defaults (lr from the spec):
#: torch v = (1 - 0.99) g^2, step lr g / (sqrt(v) + 1e-8); Keras v = (1 - 0.9) g^2, step lr g / sqrt(v + 1e-7).
#: For |g| >> 1e-3 that is 10 lr (torch) against 3.16 lr (Keras): the two modes cannot be confused.
FIRST_STEP = {
    "torch": lambda g, lr: lr * g / (np.sqrt(0.01 * g * g) + 1e-8),
    "keras": lambda g, lr: lr * g / np.sqrt(0.1 * g * g + 1e-7),
}


def test_torch_native_is_plain_torch(torch_backend):
    torch_backend.build(TINY.replace(cell="lstm"), None, mode="native")
    info = torch_backend.runtime_info()
    assert info["optimizer"] == "torch.optim.rmsprop.RMSprop" and info["mode"] == "native"
    opt = torch_backend._optimizer.param_groups[0]
    assert (opt["lr"], opt["alpha"], opt["eps"]) == (TINY.learning_rate, 0.99, 1e-8)  # torch's defaults
    assert all(p.requires_grad for p in torch_backend._net.parameters())
    # torch's own initialisers: embedding N(0, 1) (4,000 draws: std within 0.05 of 1), not Keras'
    # uniform(-0.05, 0.05)
    assert np.std(torch_backend.get_weights()["embedding"]) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("name", ["keras", "torch"])
def test_native_builds_are_seeded_ignore_weights_and_step_with_the_frameworks_rmsprop(backends, name):
    spec = TINY.replace(cell="gru")
    backend = backends[name]
    backend.build(spec, None, mode="native")
    first = backend.get_weights()
    backend.build(spec, initial_weights(spec), mode="native")
    before = backend.get_weights()
    assert all(np.array_equal(first[n], before[n]) for n in first)
    assert not np.array_equal(first["embedding"], initial_weights(spec)["embedding"])

    x, y = batch(spec)
    grads = backend.gradients(x, y)
    backend.train_step(x, y)
    after = backend.get_weights()
    for tensor in ("rnn_kernel", "rnn_recurrent", "dense_kernel"):
        g = grads[tensor].astype(np.float64)
        step = before[tensor].astype(np.float64) - after[tensor]
        np.testing.assert_allclose(step, FIRST_STEP[name](g, spec.learning_rate), rtol=1e-4, atol=2e-7)
