"""Native mode: each framework as a typical user writes it."""

from __future__ import annotations

import numpy as np

from harness.weights import initial_weights

from .conftest import TINY, batch


def test_torch_native_is_plain_torch(torch_backend):
    torch_backend.build(TINY.replace(cell="lstm"), None, mode="native")
    info = torch_backend.runtime_info()
    assert info["optimizer"] == "torch.optim.rmsprop.RMSprop" and info["mode"] == "native"
    opt = torch_backend._optimizer.param_groups[0]
    assert (opt["lr"], opt["alpha"], opt["eps"]) == (TINY.learning_rate, 0.99, 1e-8)  # torch's defaults
    assert all(p.requires_grad for p in torch_backend._net.parameters())
    # torch's own initialisers: embedding N(0, 1), not Keras' uniform(-0.05, 0.05)
    assert np.abs(torch_backend.get_weights()["embedding"]).max() > 1.0


def test_native_builds_are_seeded_and_ignore_weights(backends):
    spec = TINY.replace(cell="gru")
    for backend in backends.values():
        backend.build(spec, None, mode="native")
        first = backend.get_weights()
        backend.build(spec, initial_weights(spec), mode="native")
        again = backend.get_weights()
        assert all(np.array_equal(first[n], again[n]) for n in first)
        assert not np.array_equal(first["embedding"], initial_weights(spec)["embedding"])
        result = backend.train_step(*batch(spec))
        assert np.isfinite(result.loss) and 0 <= result.accuracy <= 1
