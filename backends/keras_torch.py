"""The ``keras-torch`` backend: Keras 3 with ``KERAS_BACKEND=torch``, i.e. Keras' own torch backend, the same
seed model and ``compile`` call. What a Keras user who switches the backend to torch gets.

On CPU Keras runs SimpleRNN/LSTM/GRU as its generic rnn, a Python loop over the timesteps (its fused path is
cuDNN, CUDA only), eagerly (``jit_compile="auto"`` resolves to False on torch): slow, and measured as it is.
The embedding gradient is a dense torch tensor (duplicates summed before RMSprop squares it): the ``dense``
parity group. Subnormals are not flushed (torch's default), which the record reads back.

Importing this module imports no framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import require_module
from .keras_model import KerasConfig, KerasEngine


@dataclass(frozen=True)
class KerasTorchConfig(KerasConfig):
    """Keras' own options; on torch ``jit_compile="auto"`` resolves to False (True: Keras calls torch.compile)."""


class KerasTorchBackend(KerasEngine):
    name = "keras-torch"
    description = "Keras 3 on PyTorch (Keras' torch backend): eager, the recurrence a Python loop on CPU"
    requires = {"torch": "torch", "keras": "keras"}
    config_class = KerasTorchConfig
    parity_group = "dense"
    keras_backend = "torch"

    def _start_framework(self) -> None:
        self._torch = torch = require_module("torch", "torch", self.name)
        from .torch_eager import pin_threads

        pin_threads(torch, self.options.threads)

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
        torch = self._torch
        return (torch.from_numpy(a) * torch.from_numpy(b)).numpy()

    def _xla(self) -> bool | None:
        return None

    def _kernel_path(self) -> str:
        device = self._model.trainable_weights[0].value.device.type
        # keras/src/backend/torch/rnn.py: lstm()/gru() take cuDNN only on CUDA, else the generic rnn().
        return "keras-torch-python-loop" if device == "cpu" else f"keras-torch-{device}"

    def _framework_facts(self) -> dict[str, Any]:
        torch = self._torch
        return {
            "versions": {"torch": torch.__version__},
            "device": self._keras.src.backend.torch.core.get_device(),
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "deterministic": True,  # torch CPU kernels used here: reruns measured bit-identical
        }
