"""Bad input: one-line BenchErrors (exit 2 at the CLI)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from backends.base import BackendOptions, load_backend
from harness.errors import BenchError
from harness.weights import initial_weights

from .conftest import TINY


@pytest.mark.parametrize("name", ["keras", "torch"])
def test_wrong_shape_weights(backends, name):
    w = initial_weights(TINY)
    w["rnn_kernel"] = np.zeros((3, 3), dtype=np.float32)
    with pytest.raises(BenchError, match="rnn_kernel.*shape"):
        backends[name].build(TINY, w)


@pytest.mark.parametrize("name", ["keras", "torch"])
def test_matched_needs_weights_and_valid_mode_dtype(backends, name):
    with pytest.raises(BenchError, match="needs initial weights"):
        backends[name].build(TINY, None, mode="matched")
    with pytest.raises(BenchError, match="unknown mode"):
        backends[name].build(TINY, None, mode="fast")
    with pytest.raises(BenchError, match="unknown dtype"):
        backends[name].build(TINY, initial_weights(TINY), dtype="float16")


@pytest.mark.parametrize(
    "name, blocked, package", [("torch", "torch", "'torch'"), ("keras", "tensorflow", "'tensorflow-cpu'")]
)
def test_missing_framework_names_the_package(monkeypatch, name, blocked, package):
    cls = load_backend(name)  # importing the backend module needs no framework
    monkeypatch.setitem(sys.modules, blocked, None)  # makes `import <blocked>` raise ImportError
    with pytest.raises(BenchError, match=f"needs the {package} package") as err:
        cls(BackendOptions(threads=1))
    assert "\n" not in str(err.value)


def test_unknown_backend_and_option():
    with pytest.raises(BenchError, match="unknown backend 'jax'"):
        load_backend("jax")
    with pytest.raises(BenchError, match="unknown option.*fused"):
        load_backend("torch")(BackendOptions(threads=1, extra={"fused": True}))


def test_threads_are_pinned_and_recorded(backends):
    for backend in backends.values():
        info = backend.runtime_info()
        assert info["threads"] == info["interop_threads"] == info["requested_threads"] == 1
        assert info["versions"] and info["device"] == "cpu"


def test_tensorflow_threads_cannot_change_in_one_process(keras_backend):
    with pytest.raises(BenchError, match="cannot be pinned to 2"):
        load_backend("keras")(BackendOptions(threads=2))
