"""The ``keras-jax`` backend: Keras 3 with ``KERAS_BACKEND=jax``, the same seed model and ``compile`` call.

On JAX Keras' ``jit_compile="auto"`` resolves to True: the train step is one ``jax.jit``-compiled XLA
program and the recurrence is keras' generic rnn, a ``lax.scan`` (its cuDNN LSTM/GRU path needs CUDA). The
embedding gradient is a dense array (duplicate tokens summed before RMSprop squares it): the ``dense``
parity group.

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
from .keras_model import KerasConfig, KerasEngine

SINGLE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


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
        self._pinned = self.options.threads == 1
        if self._pinned:  # read when JAX starts its CPU client (first use), so before importing it
            flags = os.environ.get("XLA_FLAGS", "")
            if SINGLE_THREAD_FLAGS not in flags:
                os.environ["XLA_FLAGS"] = f"{flags} {SINGLE_THREAD_FLAGS}".strip()
        self._jax = require_module("jax", "jax", self.name)

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
        return "jax-jit-scan" if self._model.jit_compile else "jax-scan"

    def _framework_facts(self) -> dict[str, Any]:
        jax = self._jax
        import jaxlib

        return {
            "versions": {"jax": jax.__version__, "jaxlib": jaxlib.__version__},
            "device": jax.default_backend(),
            "threads": 1 if self._pinned else None,
            "interop_threads": 1 if self._pinned else None,
            "thread_pinning": "XLA_FLAGS: " + SINGLE_THREAD_FLAGS if self._pinned else "none: XLA's default pool",
            "deterministic": True,  # XLA's CPU kernels used here: reruns measured bit-identical (docs/engines.md)
            "jax_enable_x64": bool(jax.config.jax_enable_x64),
        }
