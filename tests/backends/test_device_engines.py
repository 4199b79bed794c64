"""The GPU side of the engines, tested on the CPU:

- the step definition: every engine's ``train_step`` takes the host's NumPy batch and returns Python floats
  (in-process here for keras, keras-xla, torch and torch-compile; keras-jax and keras-torch in fresh
  processes through ``bench parity``'s collection, which steps through ``harness.step.run_step`` and fails on
  anything else: tests/backends/test_engines.py), and the host-to-device copy is inside the timed step (a
  fake device whose copy takes 50 ms);
- the cuDNN detection read from what the framework built, with Keras' "is a GPU there" answered yes on the
  CPU: TensorFlow's traced graph holds ``CudnnRNNV3`` and JAX's jaxpr binds ``rnn_fwd`` exactly when Keras took
  its cuDNN path (tracing needs no GPU; running would);
- TF32: matched mode turns it off in each framework and the record reads it back; native mode leaves it.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from backends import torch_device
from backends.base import BackendOptions, load_backend
from harness.step import run_step
from harness.weights import initial_weights

from .conftest import THREADS, TINY, batch


@pytest.fixture(scope="module")
def in_process():
    """keras and torch share a process (the session's backends); keras-xla and torch-compile too."""
    return {name: load_backend(name)(BackendOptions(threads=THREADS)) for name in ("keras-xla", "torch-compile")}


@pytest.mark.parametrize("name", ["keras", "keras-xla", "torch", "torch-compile"])
def test_a_step_takes_the_host_batch_and_returns_python_floats(backends, in_process, name):
    backend = {**backends, **in_process}[name]
    backend.build(TINY, initial_weights(TINY))
    x, y = batch()
    result = run_step(backend, x, y)
    assert type(result.loss) is float and type(result.accuracy) is float
    assert np.isfinite(result.loss) and 0.0 <= result.accuracy <= 1.0


def test_keras_engines_hand_keras_the_numpy_batch(keras_backend, monkeypatch):
    """Keras converts (and, on a GPU, copies) the batch inside train_on_batch, as for a Keras user."""
    keras_backend.build(TINY, initial_weights(TINY))
    seen = []
    original = keras_backend._model.train_on_batch

    def spy(x, y, **kwargs):
        seen.append((x, y))
        return original(x, y, **kwargs)

    monkeypatch.setattr(keras_backend._model, "train_on_batch", spy)
    x, y = batch()
    run_step(keras_backend, x, y)
    ((got_x, got_y),) = seen
    assert got_x is x and got_y is y


@pytest.mark.parametrize("name", ["torch", "torch-compile"])
def test_the_host_to_device_copy_is_inside_the_timed_step(backends, in_process, monkeypatch, name):
    """A fake device whose copy takes 50 ms: the step (timed as the worker times it) includes both copies,
    of the ids and of the labels, made from the NumPy batch during the step."""
    backend = {**backends, **in_process}[name]
    backend.build(TINY, initial_weights(TINY))
    x, y = batch()
    run_step(backend, x, y)  # warm (torch-compile: Dynamo gives up on the RNN once)
    copied = []
    to_device = backend._to_device

    def slow_copy(host):
        copied.append(tuple(host.shape))
        time.sleep(0.05)
        return to_device(host)

    monkeypatch.setattr(backend, "_to_device", slow_copy)
    t0 = time.perf_counter()
    run_step(backend, x, y)
    elapsed = time.perf_counter() - t0
    assert copied == [x.shape, y.shape]
    assert elapsed >= 0.1


def test_keras_on_tensorflow_reads_its_cudnn_path_from_the_graph(keras_backend, monkeypatch):
    """cuDNN's op in the traced graph where Keras' condition holds (LSTM, GRU), never for SimpleRNN."""
    rnn = sys.modules["keras.src.backend.tensorflow.rnn"]  # the attribute path is shadowed by a function
    for cell in ("lstm", "gru", "simplernn"):
        spec = TINY.replace(cell=cell)
        keras_backend.build(spec, initial_weights(spec))
        assert keras_backend._uses_cudnn() is False  # on the CPU: Keras' generic rnn
        with monkeypatch.context() as patch:
            patch.setattr(rnn, "_is_gpu_available", lambda: True)
            patch.setattr(keras_backend, "_device", "cuda:0")
            assert keras_backend._kernel_path() == ("tf-graph" if cell == "simplernn" else "cudnn"), cell
        keras_backend.build(spec, initial_weights(spec))  # a fresh model: the cached answer goes with it
        assert keras_backend._kernel_path() == "tf-graph"


JAX_CHILD = """
import sys
import jaxlib.gpu_rnn
from backends.base import BackendOptions, load_backend
from harness.spec import Spec
from harness.weights import initial_weights
spec = Spec(vocab_size=50, embed_dim=8, units=8, maxlen=12, batch_size=16, cell=sys.argv[1])
b = load_backend("keras-jax")(BackendOptions(threads=1))
b.build(spec, initial_weights(spec))
before = b._uses_cudnn()
b._set_tf32(False)
off = b._tf32_in_effect()
b._set_tf32(True)
on = b._tf32_in_effect()
rnn = sys.modules["keras.src.backend.jax.rnn"]
rnn._is_gpu_available = lambda: True
# Tracing cuDNN's primitive asks the GPU library for its reserve-space size; the CPU jaxlib has none.
jaxlib.gpu_rnn.compute_rnn_workspace_reserve_space_sizes = lambda *args: (1, 1)
print(before, b._uses_cudnn(), off, on)
"""


@pytest.mark.parametrize("cell, cudnn", [("lstm", True), ("gru", False)])
def test_keras_on_jax_reads_its_cudnn_path_from_the_jaxpr(cell, cudnn):
    """Keras on JAX has cuDNN for LSTM (jax.experimental.rnn), not for GRU (a scan of its own)."""
    done = subprocess.run([sys.executable, "-c", JAX_CHILD, cell], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    before, after, tf32_off, tf32_on = done.stdout.split()
    assert (before, after) == ("False", str(cudnn))
    assert (tf32_off, tf32_on) == ("False", "True")


def test_torch_reads_its_kernel_from_the_autograd_graph(torch_backend):
    import torch

    lstm = torch.nn.LSTM(4, 4, batch_first=True)
    out, _ = lstm(torch.zeros(2, 3, 4, requires_grad=True))
    nodes = torch_device.autograd_nodes(out)
    assert "MkldnnRnnLayerBackward0" in nodes and not torch_device.used_cudnn(nodes)
    assert torch_device.used_cudnn({"CudnnRnnBackward0", "SelectBackward0"})


@pytest.fixture
def torch_tf32():
    """torch's TF32 settings, restored after the test (they are process-wide)."""
    import torch

    saved = torch_device.tf32_in_effect(torch)
    yield torch
    torch_device.set_tf32(torch, saved)


def test_torch_tf32_is_set_and_read_back(torch_tf32):
    torch = torch_tf32
    assert torch_device.tf32_in_effect(torch) is True  # torch's default: cuDNN may use TF32
    torch_device.set_tf32(torch, False)
    assert torch_device.tf32_in_effect(torch) is False
    torch_device.set_tf32(torch, True)
    assert torch_device.tf32_in_effect(torch) is True
    # On the CPU nothing is touched and the record says null.
    torch_device.apply_precision(torch, "cpu", False)
    assert torch_device.tf32_in_effect(torch) is True and torch_device.tf32(torch, "cpu") is None


def test_torch_tf32_follows_the_mode_on_a_gpu(torch_tf32):
    """The rule build applies on CUDA (the CPU build cannot place a model there): matched off, native as is."""
    torch = torch_tf32
    torch_device.apply_precision(torch, "cuda:0", None)  # native: the framework's default
    assert torch_device.tf32_in_effect(torch) is True
    torch_device.apply_precision(torch, "cuda:0", False)  # matched
    assert torch_device.tf32_in_effect(torch) is False


def test_keras_on_tensorflow_sets_tf32_by_mode_on_a_gpu(keras_backend, monkeypatch):
    tf = keras_backend._tf
    try:
        monkeypatch.setattr(keras_backend, "_device", "cuda:0")
        keras_backend.build(TINY, None, mode="native")
        assert keras_backend._tf32_in_effect() is True  # TensorFlow's default
        keras_backend.build(TINY, initial_weights(TINY), mode="matched")
        assert keras_backend._tf32_in_effect() is False
        assert tf.config.experimental.tensor_float_32_execution_enabled() is False
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(True)
    monkeypatch.undo()
    assert keras_backend.runtime_info()["tf32"] is None  # on the CPU: null
