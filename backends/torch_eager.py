"""The ``torch`` backend: PyTorch eager mode, on the CPU or a CUDA GPU (``--device``).

``matched`` mode loads the canonical (Keras-initialised) weights, keeps torch's extra recurrent bias of
SimpleRNN/LSTM at zero and frozen, and trains with ``KerasRMSprop`` (Keras' update). Its embedding velocity
follows ``optimizer_semantics``: ``tf-sparse`` (default) squares the gradient per token occurrence as Keras on
TensorFlow does (parity group of keras, keras-xla); ``dense`` squares the summed gradient as Keras on JAX
and on torch do (parity group of keras-jax, keras-torch). ``native`` mode is what a typical user writes: torch's default
initialisers seeded from ``spec.seed``, every parameter trainable, ``torch.optim.RMSprop(lr=spec.learning_rate)``
with torch's other defaults. Both use ``BCEWithLogitsLoss`` (mean), which is what Keras computes from the
sigmoid's logits.

Subnormal floats: torch does not flush them to zero (TensorFlow and XLA do); ``flush_denormal=True`` calls
``torch.set_flush_denormal(True)``, which can change torch's speed a lot (docs/engines.md). The record reads
the state back, and which RNN kernel torch dispatched (oneDNN for LSTM, ATen's cell loop for RNN/GRU; cuDNN
on a GPU).

On a GPU (``backends.torch_device``): the model lives on ``cuda:0``; each step copies the host batch to the
device inside the step and reads the loss back with ``.item()`` (which waits for the device); matched mode
turns TF32 off; deterministic algorithms are on, with cuBLAS' reproducible workspace.

Importing this module imports no framework; torch is imported when the backend is constructed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from harness.spec import Spec

from . import torch_device, torch_layout
from .base import Backend, BackendOptions, StepResult, check_build_args, require_module
from .device import matched_tf32

OptimizerSemantics = Literal["tf-sparse", "dense"]


@dataclass(frozen=True)
class TorchConfig:
    """Matched-mode details. ``freeze_bias_hh`` can be switched off to measure what it is worth (a negative
    control of the parity tests does)."""

    freeze_bias_hh: bool = True  # SimpleRNN/LSTM: keep torch's second bias at 0; training it doubles the bias step
    #: The embedding velocity: per token occurrence (Keras on TensorFlow) or of the summed gradient (JAX, torch).
    optimizer_semantics: OptimizerSemantics = "tf-sparse"
    #: torch.set_flush_denormal: off by default, as a torch user gets it.
    flush_denormal: bool = False


def pin_threads(torch: Any, threads: int) -> None:
    torch.set_num_threads(threads)
    # Settable once per process, before any inter-op work: a second backend in the same process
    # (parity, tests) keeps the first value, which runtime_info records.
    if torch.get_num_interop_threads() != threads:
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:
            pass


class TorchBackend(torch_device.TorchDeviceMethods, Backend):
    name = "torch"
    description = "PyTorch eager: nn.Embedding/RNN/LSTM/GRU/Linear, Keras' RMSprop in matched mode"
    requires = {"torch": "torch"}
    config_class = TorchConfig
    parity_group = "tf-sparse"
    gpu_capable = True

    @classmethod
    def group_for(cls, extra: Mapping[str, Any]) -> str | None:
        return cls.configure(extra).optimizer_semantics

    def __init__(self, options: BackendOptions):
        super().__init__(options)
        self.config = self.configure(options.extra)
        torch_device.prepare_env(options.device, options.deterministic)
        self._torch = torch = require_module("torch", "torch", self.name)
        pin_threads(torch, options.threads)
        # Per thread (MXCSR); threads torch starts later inherit it. Set either way: the process may have
        # run another backend before (tests).
        self._flush_supported = torch.set_flush_denormal(self.config.flush_denormal)
        self._device = torch_device.resolve(torch, options.device, self.name)
        torch_device.set_deterministic(torch, self._device, options.deterministic)
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
        torch_device.apply_precision(torch, self._device, matched_tf32(mode))
        net = RecurrentClassifier(spec).to(device=self._device, dtype=getattr(torch, dtype))
        self.spec, self.mode, self.dtype = spec, mode, dtype
        self._np_dtype = np.dtype(dtype)
        self._net = net
        self._rnn_path = rnn_kernel_path(torch, net.rnn)
        self._forward = self._compile(net)
        if mode == "native":
            self._occurrences = False
            self._optimizer = torch.optim.RMSprop(net.parameters(), lr=spec.learning_rate)
            return
        self._load(torch_layout.to_torch(spec, weights))
        if spec.cell != "gru" and self.config.freeze_bias_hh:
            net.rnn.bias_hh_l0.requires_grad_(False)
        from .torch_rmsprop import KerasRMSprop

        self._occurrences = self.config.optimizer_semantics == "tf-sparse"
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
    def _to_device(self, host: Any) -> Any:
        """A host tensor on the training device: the step's host-to-device copy (no copy on the CPU)."""
        return host.to(self._device)

    def _ids(self, x: np.ndarray):
        return self._to_device(self._torch.from_numpy(np.ascontiguousarray(x)))  # no copy for contiguous ints

    def _labels(self, y: np.ndarray):
        return self._to_device(self._torch.from_numpy(np.ascontiguousarray(y, dtype=self._np_dtype)))

    def _backward(self, x: np.ndarray, y: np.ndarray):
        """Forward + backward on one batch; grads are left on the parameters."""
        F = self._torch.nn.functional
        xt, yt = self._ids(x), self._labels(y)
        logits, embedded = self._forward(xt)
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
        grads = {name: _host(p.grad) for name, p in self._net.named_parameters() if p.grad is not None}
        self._optimizer.zero_grad(set_to_none=True)
        return torch_layout.from_torch(self.spec, grads, gradient=True)

    # -- inference ---------------------------------------------------------------------------------
    def _logits(self, x: np.ndarray, batch_size: int):
        torch = self._torch
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                yield start, self._forward(self._ids(x[start : start + batch_size]))[0]

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
        parts = [_host(logits.sigmoid()) for _, logits in self._logits(x, self.spec.batch_size)]
        return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)

    # -- introspection -----------------------------------------------------------------------------
    def get_weights(self) -> dict[str, np.ndarray]:
        state = {name: _host(p) for name, p in self._net.named_parameters()}
        return torch_layout.from_torch(self.spec, state)

    def trainable_parameter_count(self) -> int:
        return sum(p.numel() for p in self._net.parameters() if p.requires_grad)

    def runtime_info(self) -> dict[str, Any]:
        torch = self._torch
        built = self._net is not None
        native = built and self.mode == "native"
        info: dict[str, Any] = {
            "backend": self.name,
            "engine": self.name,
            # Native mode: torch's own RMSprop over the dense embedding gradient.
            "parity_group": "dense" if native else self.group_for(self.options.extra),
            "versions": {"torch": torch.__version__},
            "device": str(next(self._net.parameters()).device) if built else str(self._device),
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "requested_threads": self.options.threads,
            # torch CPU kernels used here are deterministic; on CUDA read back from torch
            "deterministic": torch_device.deterministic(torch, self._device, self.options.deterministic),
            "tf32": torch_device.tf32(torch, self._device),
            "config": dataclasses.asdict(self.config),
            "kernel_path": self._kernel_path() if built else None,
            "xla": None,
            "flush_denormal": flushes_denormals(torch, self._device),
            "compile": self._compile_facts() if built else None,
        }
        if built:
            optimizer = type(self._optimizer)
            info.update(mode=self.mode, dtype=self.dtype, optimizer=f"{optimizer.__module__}.{optimizer.__name__}")
        return info

    # -- hooks for torch.compile (backends.torch_compile) ------------------------------------------------
    def _compile(self, net: Any) -> Any:
        """The callable training and inference run: the module itself in eager mode."""
        return net

    def _kernel_path(self) -> str:
        return self._rnn_path

    def _compile_facts(self) -> dict[str, Any] | None:
        return None


def rnn_kernel_path(torch: Any, rnn: Any) -> str:
    """Which kernel torch dispatches for this RNN module in training, read from the autograd graph of a
    two-step probe on the module's device: cuDNN's (GPU), oneDNN's ``mkldnn_rnn_layer`` (CPU LSTM, float32)
    or ATen's native cell loop."""
    param = next(rnn.parameters())
    probe = torch.zeros(2, 2, rnn.input_size, dtype=param.dtype, device=param.device, requires_grad=True)
    with torch.enable_grad():
        out, _ = rnn(probe)
    nodes = torch_device.autograd_nodes(out)
    if torch_device.used_cudnn(nodes):
        return "cudnn"
    if any("Mkldnn" in name for name in nodes):
        return "torch-mkldnn-rnn"
    return "torch-native-rnn"


def flushes_denormals(torch: Any, device: Any = "cpu") -> bool:
    """Read back whether torch's kernels on ``device`` flush subnormals to zero: a subnormal times one, over
    enough elements that every intra-op thread takes part."""
    n = 1 << 16
    ones = torch.ones(n, dtype=torch.float32, device=device)
    product = torch.full((n,), 1e-40, dtype=torch.float32, device=device) * ones
    return bool((product == 0).all())


def _host(tensor: Any) -> np.ndarray:
    """A tensor's values as a NumPy array of their own, wherever the tensor lives."""
    return tensor.detach().cpu().numpy().copy()


def _correct(logits, labels):
    """1.0 where the prediction is right. Thresholds the probability (as Keras' BinaryAccuracy does), not the
    logit: for |logit| below ~1e-8 the float32 sigmoid rounds to exactly 0.5, which Keras counts as class 0."""
    return ((logits.sigmoid() > 0.5) == (labels > 0.5)).to(logits.dtype)
