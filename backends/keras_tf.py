"""The ``keras`` backend: Keras 3 on TensorFlow (CPU), the seed model exactly as the classic notebooks write it
(``backends.keras_model``), graph mode without XLA, op determinism on.

Importing this module imports no framework; TensorFlow and Keras are imported when the backend is
constructed, after ``KERAS_BACKEND`` is set and the thread pools are pinned.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from harness.errors import BenchError

from .base import require_module
from .keras_model import KerasConfig, KerasEngine

__all__ = ["KerasBackend", "KerasConfig"]


class KerasBackend(KerasEngine):
    name = "keras"
    description = "Keras 3 on TensorFlow, graph mode (tf.function), op determinism on"
    requires = {"tensorflow": "tensorflow-cpu", "keras": "keras"}
    config_class = KerasConfig
    parity_group = "tf-sparse"
    keras_backend = "tensorflow"

    def _op_determinism(self) -> bool:
        """Without it, real-size SimpleRNN runs diverge from step ~6 and LSTM/GRU in the last bits."""
        return self.options.deterministic

    def _start_framework(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep oneDNN/CPU-feature banners off the CLI
        self._tf = tf = require_module("tensorflow", "tensorflow-cpu", self.name)
        _pin_threads(tf, self.options.threads)
        if self._op_determinism():
            tf.config.experimental.enable_op_determinism()

    def _gradient_arrays(self, x: np.ndarray, y: np.ndarray) -> list[Any]:
        """The gradient Keras' train_step computes (same loss path), without applying it, compiled as the
        train step is (a graph, through XLA when the model's jit_compile holds)."""
        tf, model = self._tf, self._model

        @tf.function(jit_compile=bool(model.jit_compile))
        def gradients(xt, yt):
            with tf.GradientTape() as tape:
                y_pred = model(xt, training=True)
                loss = model.compute_loss(x=xt, y=yt, y_pred=y_pred, training=True)
            # The embedding's gradient is an IndexedSlices (one slice per token); densifying sums duplicates.
            return [tf.convert_to_tensor(g) for g in tape.gradient(loss, model.trainable_weights)]

        return [g.numpy() for g in gradients(tf.convert_to_tensor(x), tf.convert_to_tensor(y))]

    def _multiply(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # Inside a tf.function, as the train step runs: TensorFlow's executor sets the flush-to-zero mode.
        return self._tf.function(lambda u, v: u * v)(a, b).numpy()

    def _kernel_path(self) -> str:
        # On CPU Keras' LSTM/GRU have no fused kernel (cuDNN only): every cell runs keras' generic rnn, a
        # tf.while_loop inside the traced train step, which XLA compiles when jit_compile holds.
        return "xla" if self._model.jit_compile else "tf-graph"

    def _framework_facts(self) -> dict[str, Any]:
        tf = self._tf
        threading = tf.config.threading
        from tensorflow.python.framework.config import is_op_determinism_enabled

        return {
            "versions": {"tensorflow": tf.__version__},
            "device": "gpu" if tf.config.list_logical_devices("GPU") else "cpu",
            "threads": threading.get_intra_op_parallelism_threads(),
            "interop_threads": threading.get_inter_op_parallelism_threads(),
            "deterministic": bool(is_op_determinism_enabled()),
        }


def _pin_threads(tf: Any, threads: int) -> None:
    """Set both TF pools; TF accepts this only before its first op, so a second backend in one process
    must ask for the same number."""
    threading = tf.config.threading
    pools = (
        (threading.get_intra_op_parallelism_threads, threading.set_intra_op_parallelism_threads),
        (threading.get_inter_op_parallelism_threads, threading.set_inter_op_parallelism_threads),
    )
    for get, set_ in pools:
        if get() == threads:
            continue
        try:
            set_(threads)
        except RuntimeError:
            raise BenchError(
                f"TensorFlow already runs in this process with {get() or 'default'} threads and cannot be "
                f"pinned to {threads}; use the same --threads for every backend, or one process per backend"
            ) from None
