"""KerasRMSprop (torch) == a NumPy statement of Keras' RMSprop == Keras' own RMSprop on TensorFlow,
for dense gradients and for the embedding's per-occurrence (IndexedSlices) gradients."""

from __future__ import annotations

import numpy as np
import pytest

LR, RHO, EPS = 1e-3, 0.9, 1e-7
ROWS, COLS, OCCURRENCES, STEPS = 6, 3, 10, 4


def reference(theta, steps, ids=None):
    """v <- rho v + (1-rho) g^2 (squared per occurrence for the embedding); theta -= lr g / sqrt(v + eps)."""
    theta, v = theta.copy(), np.zeros_like(theta)
    for g in steps:
        if ids is None:
            squared, total = (1 - RHO) * g**2, g
        else:
            squared, total = np.zeros_like(theta), np.zeros_like(theta)
            np.add.at(squared, ids, (1 - RHO) * g**2)
            np.add.at(total, ids, g)
        v = RHO * v + squared
        theta = theta - LR * total / np.sqrt(v + EPS)
    return theta


@pytest.fixture
def case():
    rng = np.random.default_rng(3)
    theta = rng.standard_normal((ROWS, COLS))
    ids = np.array([0, 2, 2, 2, 5, 0, 1, 2, 5, 5], dtype=np.int64)  # row 3 and 4 absent: they only decay
    sparse = [rng.standard_normal((OCCURRENCES, COLS)) * 10.0 ** rng.integers(-4, 0) for _ in range(STEPS)]
    dense = [rng.standard_normal((ROWS, COLS)) for _ in range(STEPS)]
    return theta, ids, sparse, dense


def test_the_quirk_is_not_a_dense_update(case):
    theta, ids, sparse, _ = case
    summed = []
    for g in sparse:
        total = np.zeros_like(theta)
        np.add.at(total, ids, g)
        summed.append(total)
    assert np.abs(reference(theta, sparse, ids) - reference(theta, summed)).max() > 1e-4


def _torch_run(theta, steps, ids=None):
    import torch

    from backends.torch_rmsprop import KerasRMSprop

    p = torch.nn.Parameter(torch.from_numpy(theta.copy()))
    opt = KerasRMSprop([p], lr=LR, rho=RHO, eps=EPS, embedding=p if ids is not None else None)
    for g in steps:
        g = torch.from_numpy(g)
        if ids is None:
            p.grad = g
            opt.step()
        else:
            idx = torch.from_numpy(ids)
            p.grad = torch.zeros_like(p).index_add_(0, idx, g)
            opt.step(occurrences=(idx, g))
    return p.detach().numpy()


def _keras_run(keras_backend, theta, steps, ids=None):
    tf, keras = keras_backend._tf, keras_backend._keras
    var = keras.Variable(theta.copy(), dtype="float64")
    floatx = keras.config.floatx()
    keras.config.set_floatx("float64")  # the learning-rate variable takes floatx (float32 would round lr)
    try:
        opt = keras.optimizers.RMSprop(learning_rate=LR, rho=RHO, epsilon=EPS)
    finally:
        keras.config.set_floatx(floatx)
    for g in steps:
        grad = tf.constant(g) if ids is None else tf.IndexedSlices(tf.constant(g), tf.constant(ids), (ROWS, COLS))
        opt.apply_gradients([(grad, var)])
    return np.asarray(var.numpy())


def test_torch_matches_reference(torch_backend, case):
    theta, ids, sparse, dense = case
    assert np.abs(_torch_run(theta, dense) - reference(theta, dense)).max() < 1e-15
    assert np.abs(_torch_run(theta, sparse, ids) - reference(theta, sparse, ids)).max() < 1e-15


def test_reference_matches_keras(keras_backend, case):
    """The NumPy statement of the update (and of the quirk) is what Keras 3 on TensorFlow really does."""
    theta, ids, sparse, dense = case
    assert np.abs(_keras_run(keras_backend, theta, dense) - reference(theta, dense)).max() < 1e-15
    assert np.abs(_keras_run(keras_backend, theta, sparse, ids) - reference(theta, sparse, ids)).max() < 1e-15


def test_torch_optim_rmsprop_is_not_keras(torch_backend, case):
    """Why a custom optimizer: torch puts eps outside the sqrt, and no eps makes them agree."""
    import torch

    theta, _, _, dense = case
    p = torch.nn.Parameter(torch.from_numpy(theta.copy()))
    opt = torch.optim.RMSprop([p], lr=LR, alpha=RHO, eps=EPS)
    for g in dense:
        p.grad = torch.from_numpy(g * 1e-4)
        opt.step()
    small = [g * 1e-4 for g in dense]
    assert np.abs(p.detach().numpy() - reference(theta, small)).max() > 1e-5
