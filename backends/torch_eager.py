"""The ``torch`` backend: PyTorch eager mode on CPU.

``matched`` mode loads the canonical (Keras-initialised) weights, keeps torch's extra recurrent bias of
SimpleRNN/LSTM at zero and frozen, and trains with ``KerasRMSprop`` (Keras' update, including TensorFlow's
per-occurrence embedding velocity). ``native`` mode is what a typical user writes: torch's default
initialisers seeded from ``spec.seed``, every parameter trainable, ``torch.optim.RMSprop(lr=spec.learning_rate)``
with torch's other defaults. Both use ``BCEWithLogitsLoss`` (mean), which is what Keras computes from the
sigmoid's logits.

Importing this module imports no framework; torch is imported when the backend is constructed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.spec import Spec

from . import torch_layout
from .base import Backend, BackendOptions, StepResult, check_build_args, require_module
from .config import config_from_extra


@dataclass(frozen=True)
class TorchConfig:
    """Matched-mode details that can be switched off, to measure what each one is worth (the negative
    controls of the parity tests do). Both default to what Keras does."""

    freeze_bias_hh: bool = True  # SimpleRNN/LSTM: keep torch's second bias at 0; training it doubles the bias step
    embedding_occurrences: bool = True  # TF's per-occurrence squared embedding gradients in the velocity


class TorchBackend(Backend):
    name = "torch"
    requires = ("torch",)

    def __init__(self, options: BackendOptions):
        super().__init__(options)
        self.config = config_from_extra(TorchConfig, options.extra, self.name)
        self._torch = torch = require_module("torch", "torch", self.name)
        torch.set_num_threads(options.threads)
        # Settable once per process, before any inter-op work: a second backend in the same process
        # (parity, tests) keeps the first value, which runtime_info records.
        if torch.get_num_interop_threads() != options.threads:
            try:
                torch.set_num_interop_threads(options.threads)
            except RuntimeError:
                pass
        self._net: Any = None

    # -- building ---------------------------------------------------------------------------------
    def build(
        self,
        spec: Spec,
        weights: Mapping[str, np.ndarray] | None,
        mode: str = "matched",
        dtype: str = "float32",
    ) -> None:
        weights = check_build_args(spec, weights, mode, dtype)
        torch = self._torch
        from .torch_model import RecurrentClassifier

        torch.manual_seed(spec.seed)  # native mode: torch's own initialisers draw from this
        net = RecurrentClassifier(spec).to(getattr(torch, dtype))
        self.spec, self.mode, self.dtype = spec, mode, dtype
        self._np_dtype = np.dtype(dtype)
        self._net = net
        if mode == "native":
            self._occurrences = False
            self._optimizer = torch.optim.RMSprop(net.parameters(), lr=spec.learning_rate)
            return
        self._load(torch_layout.to_torch(spec, weights))
        if spec.cell != "gru" and self.config.freeze_bias_hh:
            net.rnn.bias_hh_l0.requires_grad_(False)
        from .torch_rmsprop import KerasRMSprop

        self._occurrences = self.config.embedding_occurrences
        self._optimizer = KerasRMSprop(
            [p for p in net.parameters() if p.requires_grad],
            lr=spec.learning_rate,
            rho=spec.rho,
            eps=spec.epsilon,
            embedding=net.embedding.weight,
        )

    def _load(self, arrays: Mapping[str, np.ndarray]) -> None:
        params = dict(self._net.named_parameters())
        with self._torch.no_grad():
            for name, array in arrays.items():
                params[name].copy_(self._torch.from_numpy(np.asarray(array, dtype=self._np_dtype)))

    # -- training -----------------------------------------------------------------------------------
    def _ids(self, x: np.ndarray):
        return self._torch.from_numpy(np.ascontiguousarray(x))  # no copy for contiguous int arrays

    def _labels(self, y: np.ndarray):
        return self._torch.from_numpy(np.ascontiguousarray(y, dtype=self._np_dtype))

    def _backward(self, x: np.ndarray, y: np.ndarray):
        """Forward + backward on one batch; grads are left on the parameters."""
        F = self._torch.nn.functional
        xt, yt = self._ids(x), self._labels(y)
        logits, embedded = self._net(xt)
        if self._occurrences:
            embedded.retain_grad()
        loss = F.binary_cross_entropy_with_logits(logits, yt)
        self._optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return xt, yt, logits, embedded, loss

    def train_step(self, x: np.ndarray, y: np.ndarray) -> StepResult:
        xt, yt, logits, embedded, loss = self._backward(x, y)
        if self._occurrences:
            self._optimizer.step(occurrences=(xt.reshape(-1), embedded.grad.reshape(-1, embedded.shape[-1])))
        else:
            self._optimizer.step()
        with self._torch.no_grad():
            accuracy = _correct(logits, yt).mean()
        return StepResult(loss.item(), accuracy.item())

    def gradients(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        self._backward(x, y)
        grads = {name: p.grad.detach().numpy().copy() for name, p in self._net.named_parameters() if p.grad is not None}
        self._optimizer.zero_grad(set_to_none=True)
        return torch_layout.from_torch(self.spec, grads, gradient=True)

    # -- inference ---------------------------------------------------------------------------------
    def _logits(self, x: np.ndarray, batch_size: int):
        torch = self._torch
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                yield start, self._net(self._ids(x[start : start + batch_size]))[0]

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> StepResult:
        F = self._torch.nn.functional
        loss_sum = correct = 0.0
        for start, logits in self._logits(x, batch_size):
            yt = self._labels(y[start : start + len(logits)])
            # Keras averages per-batch means weighted by batch size; summing batch means * size is the same.
            loss_sum += F.binary_cross_entropy_with_logits(logits, yt).item() * len(logits)
            correct += _correct(logits, yt).sum().item()
        n = max(len(x), 1)
        return StepResult(loss_sum / n, correct / n)

    def predict(self, x: np.ndarray) -> np.ndarray:
        parts = [logits.sigmoid().numpy() for _, logits in self._logits(x, self.spec.batch_size)]
        return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)

    # -- introspection -----------------------------------------------------------------------------
    def get_weights(self) -> dict[str, np.ndarray]:
        state = {name: p.detach().numpy().copy() for name, p in self._net.named_parameters()}
        return torch_layout.from_torch(self.spec, state)

    def trainable_parameter_count(self) -> int:
        return sum(p.numel() for p in self._net.parameters() if p.requires_grad)

    def runtime_info(self) -> dict[str, Any]:
        torch = self._torch
        info: dict[str, Any] = {
            "backend": self.name,
            "versions": {"torch": torch.__version__},
            "device": "cpu",
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "requested_threads": self.options.threads,
            "deterministic": self.options.deterministic,  # torch CPU kernels used here are deterministic
            "config": dataclasses.asdict(self.config),
        }
        if self._net is not None:
            optimizer = type(self._optimizer)
            info.update(mode=self.mode, dtype=self.dtype, optimizer=f"{optimizer.__module__}.{optimizer.__name__}")
        return info


def _correct(logits, labels):
    """1.0 where the prediction is right. Thresholds the probability (as Keras' BinaryAccuracy does), not the
    logit: for |logit| below ~1e-8 the float32 sigmoid rounds to exactly 0.5, which Keras counts as class 0."""
    return ((logits.sigmoid() > 0.5) == (labels > 0.5)).to(logits.dtype)
