"""The ``keras`` backend: Keras 3 on TensorFlow, the seed model exactly as the classic notebooks write it
(``backends.keras_model``), graph mode without XLA, op determinism on.

Devices: ``--device cpu`` hides TensorFlow's GPUs before its first op; on a GPU only the first is visible, with
memory growth on (TensorFlow otherwise takes the whole GPU at start, which starves any other process on it).
On a GPU Keras runs LSTM/GRU as cuDNN's ``CudnnRNNV3`` when its conditions hold and then drops XLA for the
model; the record reads both back (the op from the traced graph, XLA from the model).

Importing this module imports no framework; TensorFlow and Keras are imported when the backend is
constructed, after ``KERAS_BACKEND`` is set and the thread pools are pinned.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from harness.errors import BenchError

from .base import require_module
from .device import GPU, on_gpu, resolve_device
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
        self._device = _choose_device(tf, self.options.device, self.name)
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
        if self._cudnn():
            return "cudnn"
        return "xla" if self._model.jit_compile else "tf-graph"

    def _uses_cudnn(self) -> bool:
        """Whether the model's forward pass, traced as the train step traces it, holds a cuDNN RNN op
        (keras/src/backend/tensorflow/rnn.py calls ``tf.raw_ops.CudnnRNNV3`` when cudnn_ok holds)."""
        tf, model = self._tf, self._model
        forward = tf.function(lambda x: model(x, training=True))
        graph = forward.get_concrete_function(tf.TensorSpec((None, self.spec.maxlen), tf.int32)).graph
        return any(op.startswith("CudnnRNN") for op in graph_ops(graph.as_graph_def()))

    def _set_tf32(self, allowed: bool) -> None:
        self._tf.config.experimental.enable_tensor_float_32_execution(allowed)

    def _tf32_in_effect(self) -> bool | None:
        return bool(self._tf.config.experimental.tensor_float_32_execution_enabled())

    def _framework_facts(self) -> dict[str, Any]:
        tf = self._tf
        threading = tf.config.threading
        from tensorflow.python.framework.config import is_op_determinism_enabled

        return {
            "versions": {"tensorflow": tf.__version__},
            "device": _device_of(self._model.weights[0].value) if self._model is not None else self._device,
            "threads": threading.get_intra_op_parallelism_threads(),
            "interop_threads": threading.get_inter_op_parallelism_threads(),
            "deterministic": bool(is_op_determinism_enabled()),
        }

    # -- the device ----------------------------------------------------------------------------------------
    def reset_device_memory(self) -> None:
        if on_gpu(self._device):
            self._tf.config.experimental.reset_memory_stats("GPU:0")

    def peak_device_memory_mb(self) -> float | None:
        if not on_gpu(self._device):
            return None
        return self._tf.config.experimental.get_memory_info("GPU:0")["peak"] / float(1 << 20)

    def synchronize(self) -> None:
        self._tf.test.experimental.sync_devices()

    def gpu_info(self) -> dict[str, Any] | None:
        if not on_gpu(self._device):
            return None
        tf = self._tf
        details = tf.config.experimental.get_device_details(tf.config.get_visible_devices("GPU")[0])
        build = tf.sysconfig.get_build_info()
        capability = details.get("compute_capability")
        return {
            "name": details.get("device_name", "GPU"),
            "compute_capability": ".".join(map(str, capability)) if capability else None,
            "cuda": build.get("cuda_version"),
            "cudnn": build.get("cudnn_version"),
        }


def _choose_device(tf: Any, request: str, backend: str) -> str:
    """Resolve ``--device`` against TensorFlow's GPUs and make only the chosen device visible, before
    TensorFlow's first op (visibility cannot change after)."""
    gpus = tf.config.list_physical_devices("GPU")
    cuda_build = bool(tf.sysconfig.get_build_info().get("is_cuda_build"))
    why = f"TensorFlow {tf.__version__} " + ("lists no GPU" if cuda_build else "is a CPU build (tensorflow-cpu)")
    device = resolve_device(request, bool(gpus), backend, why)
    wanted = gpus[:1] if device == GPU else []
    try:
        if tf.config.get_visible_devices("GPU") != wanted:
            tf.config.set_visible_devices(wanted, "GPU")
        for gpu in wanted:
            if not tf.config.experimental.get_memory_growth(gpu):
                tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError:
        raise BenchError(
            "TensorFlow already runs in this process with other visible devices; run this backend in a "
            "process of its own (bench run and bench parity do)"
        ) from None
    return device


def _device_of(variable: Any) -> str:
    """ "cuda:N" or "cpu" from a TensorFlow device string ("/job:localhost/replica:0/task:0/device:GPU:0")."""
    kind, _, index = str(variable.device).rpartition("device:")[2].partition(":")
    return f"cuda:{index or 0}" if kind.upper() == "GPU" else "cpu"


def graph_ops(graph_def: Any) -> set[str]:
    """Every op type in a GraphDef, its function library included (tf.function nests bodies there)."""
    ops = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        ops.update(node.op for node in function.node_def)
    return ops


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
