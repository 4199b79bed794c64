"""The ``keras-torch`` backend: Keras 3 with ``KERAS_BACKEND=torch``, i.e. Keras' own torch backend, the same
seed model and ``compile`` call. What a Keras user who switches the backend to torch gets.

On CPU Keras runs SimpleRNN/LSTM/GRU as its generic rnn, a Python loop over the timesteps (its fused path is
cuDNN, CUDA only), eagerly (``jit_compile="auto"`` resolves to False on torch): slow, and measured as it is.
The embedding gradient is a dense torch tensor (duplicates summed before RMSprop squares it): the ``dense``
parity group. Subnormals are not flushed (torch's default), which the record reads back.

Devices: Keras' torch backend picks its device when keras is imported (``KERAS_TORCH_DEVICE``, set here from
``--device``). On CUDA Keras runs LSTM/GRU through cuDNN (``torch._VF.lstm``/``gru``) and falls back to its
Python loop when cuDNN refuses; the record reads which from the autograd graph of the RNN layer. Determinism
and TF32 as for the ``torch`` engine (``backends.torch_device``).

Importing this module imports no framework.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import torch_device
from .base import require_module
from .keras_model import KerasConfig, KerasEngine


@dataclass(frozen=True)
class KerasTorchConfig(KerasConfig):
    """Keras' own options; on torch ``jit_compile="auto"`` resolves to False (True: Keras calls torch.compile)."""


class KerasTorchBackend(torch_device.TorchDeviceMethods, KerasEngine):
    name = "keras-torch"
    description = "Keras 3 on PyTorch (Keras' torch backend): eager, the recurrence a Python loop on CPU"
    requires = {"torch": "torch", "keras": "keras"}
    config_class = KerasTorchConfig
    parity_group = "dense"
    keras_backend = "torch"

    def _start_framework(self) -> None:
        torch_device.prepare_env(self.options.device, self.options.deterministic)
        self._torch = torch = require_module("torch", "torch", self.name)
        from .torch_eager import pin_threads

        pin_threads(torch, self.options.threads)
        device = torch_device.resolve(torch, self.options.device, self.name)
        torch_device.set_deterministic(torch, device, self.options.deterministic)
        self._device = str(device)
        os.environ["KERAS_TORCH_DEVICE"] = self._device  # read once, when keras is first imported

    def _gradient_arrays(self, x: np.ndarray, y: np.ndarray) -> list[Any]:
        """The loss Keras' torch train_step computes, with ``backward()``; gradients are read and cleared."""
        model, ops = self._model, self._keras.ops
        xt, yt = ops.convert_to_tensor(x), ops.convert_to_tensor(y)
        model.zero_grad()
        y_pred = model(xt, training=True)
        model.compute_loss(x=xt, y=yt, y_pred=y_pred, training=True).backward()
        grads = [v.value.grad.detach().cpu().numpy().copy() for v in model.trainable_weights]
        model.zero_grad()
        return grads

    def _multiply(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        torch, device = self._torch, self._device
        return (torch.from_numpy(a).to(device) * torch.from_numpy(b).to(device)).cpu().numpy()

    def _xla(self) -> bool | None:
        return None

    def _kernel_path(self) -> str:
        # keras/src/backend/torch/rnn.py: lstm()/gru() take cuDNN only on CUDA, else a Python loop over time.
        return "cudnn" if self._cudnn() else "keras-torch-python-loop"

    def _uses_cudnn(self) -> bool:
        """Whether Keras' RNN layer, run on a two-step probe on its device in training, went through cuDNN
        (read from the autograd graph it built)."""
        torch, layer = self._torch, self._model.layers[1]
        probe = torch.zeros(2, 2, self.spec.embed_dim, dtype=getattr(torch, self.dtype), device=self._device)
        with torch.enable_grad():
            out = layer(probe.requires_grad_(), training=True)
        return torch_device.used_cudnn(torch_device.autograd_nodes(out))

    def _set_tf32(self, allowed: bool) -> None:
        torch_device.set_tf32(self._torch, allowed)

    def _tf32_in_effect(self) -> bool | None:
        return torch_device.tf32_in_effect(self._torch)

    def _framework_facts(self) -> dict[str, Any]:
        torch = self._torch
        return {
            "versions": {"torch": torch.__version__},
            "device": str(self._model.trainable_weights[0].value.device)
            if self._model is not None
            else self._keras.src.backend.torch.core.get_device(),
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            # torch CPU kernels used here: reruns measured bit-identical; on CUDA read back from torch
            "deterministic": torch_device.deterministic(torch, self._device, True),
        }
