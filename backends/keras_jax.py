"""The ``keras-jax`` backend: Keras 3 with ``KERAS_BACKEND=jax``, the same seed model and ``compile`` call.

On JAX Keras' ``jit_compile="auto"`` resolves to True: the train step is one ``jax.jit``-compiled XLA
program and the recurrence is a ``lax.scan`` (keras' generic rnn; GRU a scan of its own over precomputed
input projections). On a GPU Keras runs LSTM through ``jax.experimental.rnn.lstm`` (cuDNN) when its
conditions hold; GRU has no cuDNN path on JAX. The record reads which from the traced step (``rnn_fwd``, the
cuDNN primitive). The embedding gradient is a dense array (duplicate tokens summed before RMSprop squares it):
the ``dense`` parity group.

Devices: ``--device cpu`` sets ``JAX_PLATFORMS=cpu`` before JAX starts; ``gpu``/``auto`` let JAX choose its
default backend (a GPU when a CUDA plugin is installed). On a GPU, XLA's deterministic ops are switched on
(``XLA_FLAGS``, read when the GPU client starts), and matched mode sets ``jax_default_matmul_precision`` to
"highest" (no TF32, cuDNN's LSTM included: ``jax.experimental.rnn`` reads the same setting). Peak device
memory is JAX's ``peak_bytes_in_use``, which has no reset: a job's process is fresh, so it is the job's.

Threads: XLA's CPU client has no setting for N threads; one thread is pinned with
``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``, more are left to XLA's
default (every core), which the record then says (``threads`` null, ``thread_pinning``).

float64: Keras' type promotion on JAX maps float64 to float32 (``keras.src.backend.common.dtypes``:
``BIT64_TO_BIT32_DTYPE``, "aligned with JAX's default"), so ``ops.tanh`` of a float64 tensor is float32: a
float64 SimpleRNN fails to trace (its scan carry changes dtype) and a float64 LSTM/GRU computes its tanh in
float32. Parity therefore checks this engine in float32 (``no_float64``). A float64 build still switches
``jax_enable_x64`` on (only then: it changes default integer widths).

Importing this module imports no framework.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import require_module
from .device import XLA_GPU_DETERMINISTIC, on_gpu, resolve_device, version_text
from .keras_model import KerasConfig, KerasEngine

SINGLE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
#: jax_default_matmul_precision values that keep float32 matmuls in float32 (no TF32, no bfloat16 passes).
FULL_FLOAT32 = ("highest", "float32")
#: The primitive jax.experimental.rnn.lstm binds: cuDNN's RNN (lowered only on CUDA/ROCm).
CUDNN_PRIMITIVE = "rnn_fwd"


@dataclass(frozen=True)
class KerasJaxConfig(KerasConfig):
    """Keras' own options; on JAX ``jit_compile="auto"`` resolves to True (the whole step one XLA program)."""


class KerasJaxBackend(KerasEngine):
    name = "keras-jax"
    description = "Keras 3 on JAX: the train step jit-compiled by XLA, the recurrence a lax.scan"
    requires = {"jax": "jax", "jaxlib": "jaxlib", "keras": "keras"}
    config_class = KerasJaxConfig
    parity_group = "dense"
    no_float64 = "Keras 3 on JAX computes tanh in float32 whatever the input (its result_type maps float64 to float32)"
    keras_backend = "jax"

    def _start_framework(self) -> None:
        request = self.options.device
        self._pinned = self.options.threads == 1
        if self._pinned:  # read when JAX starts its CPU client (first use), so before importing it
            _add_xla_flags(SINGLE_THREAD_FLAGS)
        if request == "cpu":
            os.environ["JAX_PLATFORMS"] = "cpu"
        elif self.options.deterministic:  # read when JAX starts its GPU client
            _add_xla_flags(XLA_GPU_DETERMINISTIC)
        self._jax = jax = require_module("jax", "jax", self.name)
        sees = jax.default_backend() == "gpu"
        why = f"jax {jax.__version__} runs on {jax.default_backend()!r}: no CUDA plugin (pip install 'jax[cuda12]')"
        self._device = resolve_device(request, sees, self.name, why)

    def _prepare_dtype(self, dtype: str) -> None:
        if dtype == "float64" and not self._jax.config.jax_enable_x64:
            self._jax.config.update("jax_enable_x64", True)

    def _gradient_arrays(self, x: np.ndarray, y: np.ndarray) -> list[Any]:
        """Keras' own stateless loss (``compute_loss_and_updates``, what its jitted train step
        differentiates), differentiated with ``jax.grad``; no variable is updated."""
        model = self._model

        def values(variables):
            return [v.value for v in variables]

        jax = self._jax

        def loss(trainable, non_trainable, metrics, optimizer, x, y):
            return model.compute_loss_and_updates(
                trainable, non_trainable, metrics, x, y, None, training=True, optimizer_variables=optimizer
            )

        # jit: differentiating the scan op by op would take far longer than compiling it once.
        grads, _ = jax.jit(jax.grad(loss, has_aux=True))(
            values(model.trainable_variables),
            values(model.non_trainable_variables),
            values(model.metrics_variables),
            values(model.optimizer.variables),
            x,
            y,
        )
        return grads

    def _multiply(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.asarray(self._jax.jit(lambda u, v: u * v)(a, b))

    def _kernel_path(self) -> str:
        if self._cudnn():
            return "cudnn"
        return "jax-jit-scan" if self._model.jit_compile else "jax-scan"

    def _uses_cudnn(self) -> bool:
        """Whether the model's forward pass, traced as its train step traces it, binds cuDNN's RNN."""
        jax, model = self._jax, self._model

        def forward(trainable, non_trainable, x):
            return model.stateless_call(trainable, non_trainable, x, training=True)[0]

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        x = np.zeros((2, self.spec.maxlen), np.int32)
        return CUDNN_PRIMITIVE in jaxpr_primitives(jax.make_jaxpr(forward)(trainable, non_trainable, x))

    def _set_tf32(self, allowed: bool) -> None:
        self._jax.config.update("jax_default_matmul_precision", None if allowed else "highest")

    def _tf32_in_effect(self) -> bool | None:
        # Unset ("default") lets XLA use TF32 for float32 dots and cuDNN calls on Ampere and later.
        return str(self._jax.config.jax_default_matmul_precision).lower() not in FULL_FLOAT32

    def _framework_facts(self) -> dict[str, Any]:
        jax = self._jax
        import jaxlib

        gpu = on_gpu(self._device)
        return {
            "versions": {"jax": jax.__version__, "jaxlib": jaxlib.__version__},
            "device": _device_name(next(iter(self._model.weights[0].value.devices())))
            if self._model is not None
            else self._device,
            "threads": 1 if self._pinned else None,
            "interop_threads": 1 if self._pinned else None,
            "thread_pinning": "XLA_FLAGS: " + SINGLE_THREAD_FLAGS if self._pinned else "none: XLA's default pool",
            # CPU: XLA's kernels used here reran bit-identically (docs/engines.md); GPU: XLA's deterministic
            # ops, as XLA_FLAGS held them when the GPU client started.
            "deterministic": XLA_GPU_DETERMINISTIC in os.environ.get("XLA_FLAGS", "") if gpu else True,
            "jax_enable_x64": bool(jax.config.jax_enable_x64),
            "jax_default_matmul_precision": jax.config.jax_default_matmul_precision,
        }

    # -- the device ----------------------------------------------------------------------------------------
    def _gpu(self) -> Any:
        return self._jax.devices()[0]

    def peak_device_memory_mb(self) -> float | None:
        if not on_gpu(self._device):
            return None
        stats = self._gpu().memory_stats() or {}
        peak = stats.get("peak_bytes_in_use")
        return None if peak is None else peak / float(1 << 20)

    def synchronize(self) -> None:
        # The step's outputs are the model's new variables: ready when the step's program has finished.
        self._jax.block_until_ready([v.value for v in self._model.variables])

    def gpu_info(self) -> dict[str, Any] | None:
        if not on_gpu(self._device):
            return None
        device = self._gpu()
        cuda = cudnn = None
        try:  # the CUDA plugin's own report of what it loaded (a private module of JAX's)
            from jax._src.lib import cuda_versions

            if cuda_versions is not None:
                cuda = version_text(cuda_versions.cuda_runtime_get_version(), "cuda")
                cudnn = version_text(cuda_versions.cudnn_get_version(), "cudnn")
        except Exception:  # absent or renamed in this JAX: nvidia-smi and the framework say the rest
            pass
        return {
            "name": device.device_kind,
            "compute_capability": getattr(device, "compute_capability", None),
            "cuda": cuda,
            "cudnn": cudnn,
        }


def _add_xla_flags(flags: str) -> None:
    current = os.environ.get("XLA_FLAGS", "")
    if flags not in current:
        os.environ["XLA_FLAGS"] = f"{current} {flags}".strip()


def _device_name(device: Any) -> str:
    return "cpu" if device.platform == "cpu" else f"cuda:{device.id}"


def jaxpr_primitives(jaxpr: Any) -> set[str]:
    """Every primitive a (closed) jaxpr binds, nested jaxprs included (custom_vjp, scan, cond, pjit)."""
    names: set[str] = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for value in eqn.params.values():
            for sub in value if isinstance(value, tuple | list) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    names |= jaxpr_primitives(inner)
    return names
