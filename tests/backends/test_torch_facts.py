"""What the torch backend reads back from torch: the RNN kernel it dispatched and the flush-to-zero state."""

from __future__ import annotations

import pytest

from backends.base import BackendOptions
from backends.torch_eager import TorchBackend, flushes_denormals
from harness.weights import initial_weights

from .conftest import THREADS, TINY

#: torch 2.13 on CPU, measured with the profiler: nn.LSTM runs aten::mkldnn_rnn_layer (oneDNN) in float32;
#: nn.RNN (aten::rnn_tanh) and nn.GRU (aten::gru) run ATen's cell loop; float64 has no oneDNN RNN.
KERNELS = {
    ("lstm", "float32"): "torch-mkldnn-rnn",
    ("simplernn", "float32"): "torch-native-rnn",
    ("gru", "float32"): "torch-native-rnn",
    ("lstm", "float64"): "torch-native-rnn",
}


@pytest.mark.parametrize("cell, dtype", KERNELS)
def test_kernel_path_is_read_from_the_autograd_graph(torch_backend, cell, dtype):
    spec = TINY.replace(cell=cell)
    torch_backend.build(spec, initial_weights(spec, dtype=dtype), dtype=dtype)
    assert torch_backend.runtime_info()["kernel_path"] == KERNELS[(cell, dtype)]


def test_flush_denormal_is_off_by_default_and_read_back(torch_backend):
    import torch

    assert torch_backend.runtime_info()["flush_denormal"] is False
    try:
        ftz = TorchBackend(BackendOptions(threads=THREADS, extra={"flush_denormal": True}))
        assert ftz.runtime_info()["flush_denormal"] is True and ftz.runtime_info()["config"]["flush_denormal"]
        product = torch.tensor([1e-40]) * torch.tensor([1.0])
        assert product.item() == 0.0  # the state is torch's own, not just what the backend says
    finally:
        torch.set_flush_denormal(False)
    assert not flushes_denormals(torch)
