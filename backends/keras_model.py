"""The seed model as Keras 3 writes it, shared by every Keras engine (keras, keras-xla, keras-jax, keras-torch).

``Sequential([Embedding(vocab, embed), SimpleRNN|LSTM|GRU(units), Dense(1, activation="sigmoid")])`` compiled
with ``RMSprop(learning_rate, rho, epsilon)``, ``binary_crossentropy`` and ``accuracy``. A training step is
``train_on_batch``: the same compiled ``train_function`` that ``fit`` runs. ``matched`` mode loads the
canonical weights (they are Keras' own layout, on every Keras engine); ``native`` mode lets Keras'
initialisers draw from ``spec.seed``.

The engines differ only in what Keras runs underneath (``KERAS_BACKEND``, read once per process when keras
is first imported): an engine module says how to start its framework (thread pools, determinism, the
device), how to take a gradient without updating, and what it reads back for the record (kernel path, XLA,
flush-to-zero, TF32, device memory).

On a GPU a step is still ``train_on_batch`` on the host's NumPy batch: Keras copies it to the device inside
the step, and the logs it returns are NumPy values, so the step ends when the device has finished. Whether
Keras ran its LSTM/GRU as a cuDNN kernel is read from what the framework built (``_uses_cudnn``): Keras takes
cuDNN only on a GPU, for the default activations, without masking or unrolling (and on TensorFlow it then
drops XLA for the model); SimpleRNN has no fused kernel anywhere.

Importing this module imports no framework; the engine's framework and Keras are imported when the backend
is constructed, after ``KERAS_BACKEND`` is set and the thread pools are pinned.
"""

from __future__ import annotations

import abc
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from harness.errors import BenchError
from harness.spec import Spec
from harness.weights import WEIGHT_NAMES

from .base import Backend, BackendOptions, StepResult, check_build_args, require_module
from .device import CPU, matched_tf32, on_gpu


@dataclass(frozen=True)
class KerasConfig:
    """Options of ``compile`` a Keras user sets; the engines' configs extend it."""

    jit_compile: bool | str = "auto"  # Keras' default: False on TensorFlow's CPU and on torch, True on JAX


#: A subnormal float32 (the smallest normal is ~1.18e-38): times one, it stays itself unless the kernel
#: flushes subnormals to zero (FTZ/DAZ).
SUBNORMAL = 1e-40


class KerasEngine(Backend):
    """Keras 3 on one framework. Subclasses set ``keras_backend`` and implement the framework hooks."""

    requires = {"keras": "keras"}
    #: The ``KERAS_BACKEND`` this engine runs.
    keras_backend: ClassVar[str]

    gpu_capable = True

    def __init__(self, options: BackendOptions):
        super().__init__(options)
        self.config = self.configure(options.extra)
        os.environ["KERAS_BACKEND"] = self.keras_backend  # read once, when keras is first imported
        self._device = CPU
        self._start_framework()
        self._keras = keras = require_module("keras", "keras", self.name)
        if keras.config.backend() != self.keras_backend:
            raise BenchError(
                f"keras was already imported with the {keras.config.backend()!r} backend in this process; "
                f"the {self.name} backend needs KERAS_BACKEND={self.keras_backend} (run it in a fresh process)"
            )
        self._model: Any = None
        self._flush: bool | None = None
        self._cudnn_seen: bool | None = None

    # -- the framework hooks -----------------------------------------------------------------------
    @abc.abstractmethod
    def _start_framework(self) -> None:
        """Import the framework, pin its thread pools (and determinism) and resolve the device into
        ``self._device`` (``backends.device``) before Keras does any work."""

    @abc.abstractmethod
    def _gradient_arrays(self, x: np.ndarray, y: np.ndarray) -> list[Any]:
        """Gradients of the loss Keras' train step computes, one per trainable weight, without an update."""

    @abc.abstractmethod
    def _multiply(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``a * b`` computed by the framework's own kernels (for the flush-to-zero read-back)."""

    @abc.abstractmethod
    def _framework_facts(self) -> dict[str, Any]:
        """versions, threads, interop_threads, device, deterministic, and what else the engine records."""

    @abc.abstractmethod
    def _kernel_path(self) -> str:
        """What ran the recurrence (see backends.base)."""

    def _jit_compile(self) -> bool | str:
        """The ``jit_compile`` argument of ``compile``."""
        return self.config.jit_compile

    def _xla(self) -> bool | None:
        """Whether XLA compiled the train step, read from the model (None: the engine has no XLA)."""
        return bool(self._model.jit_compile)

    def _prepare_dtype(self, dtype: str) -> None:
        """Anything the framework needs before a model of this dtype is built."""

    def _uses_cudnn(self) -> bool:
        """On a GPU: whether the built model runs its recurrence as a cuDNN kernel, read from what the
        framework traced or ran."""
        return False

    def _set_tf32(self, allowed: bool) -> None:
        """TF32 on or off for the framework's GPU matmuls and cuDNN calls."""

    def _tf32_in_effect(self) -> bool | None:
        """Whether the framework may use TF32 on the GPU as its settings stand."""
        return None

    def _cudnn(self) -> bool:
        """Whether cuDNN runs the recurrence (never on the CPU: Keras' cuDNN paths need a GPU); cached per
        model, since tracing to find out costs time."""
        if self._cudnn_seen is None:
            self._activate()
            self._cudnn_seen = on_gpu(self._device) and self._uses_cudnn()
        return self._cudnn_seen

    # -- building ---------------------------------------------------------------------------------
    def _activate(self) -> None:
        """Make Keras' global floatx and dtype policy this model's dtype.

        Layers take the global dtype policy (cached from floatx on first use) when created; the loss,
        metrics and optimizer variables take floatx, and the traced train function casts the loss to
        floatx (Trainer.compute_loss). So a float64 model must see float64 at build *and* when its
        functions are first traced, even if a float32 model was built in the same process since.
        Two string comparisons per call: no cost worth measuring."""
        config = self._keras.config
        if config.floatx() != self.dtype or config.dtype_policy().name != self.dtype:
            config.set_floatx(self.dtype)
            config.set_dtype_policy(self.dtype)

    def build(
        self,
        spec: Spec,
        weights: Mapping[str, np.ndarray] | None,
        mode: str = "matched",
        dtype: str = "float32",
    ) -> None:
        weights = check_build_args(spec, weights, mode, dtype)
        keras = self._keras
        self.spec, self.mode, self.dtype = spec, mode, dtype
        self._cudnn_seen = None
        allowed = matched_tf32(mode)
        if on_gpu(self._device) and allowed is not None:
            self._set_tf32(allowed)
        self._prepare_dtype(dtype)
        self._activate()
        keras.utils.set_random_seed(spec.seed)  # native mode: Keras' initialisers draw from this
        cell = {"simplernn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[spec.cell]
        model = keras.Sequential(
            [
                keras.layers.Embedding(spec.vocab_size, spec.embed_dim),
                cell(spec.units),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        # What fit/train_on_batch do on the first batch of an unbuilt model; needed here to load weights.
        model.build((None, spec.maxlen))
        if weights is not None:
            model.set_weights(self._to_keras(spec, weights, dtype))
        model.compile(
            optimizer=keras.optimizers.RMSprop(
                learning_rate=float(spec.learning_rate), rho=float(spec.rho), epsilon=float(spec.epsilon)
            ),
            loss="binary_crossentropy",
            metrics=["accuracy"],
            jit_compile=self._jit_compile(),
        )
        self._model = model
        if self._flush is None:
            probe = self._multiply(np.full(1 << 16, SUBNORMAL, np.float32), np.ones(1 << 16, np.float32))
            self._flush = bool(np.all(np.asarray(probe) == 0))

    def _to_keras(self, spec: Spec, weights: Mapping[str, np.ndarray], dtype: str) -> list[np.ndarray]:
        """Canonical weights -> ``set_weights``' list: the canonical layout is Keras' own, so only the order."""
        return [np.asarray(weights[name], dtype=dtype) for name in WEIGHT_NAMES]

    # -- training -----------------------------------------------------------------------------------
    def train_step(self, x: np.ndarray, y: np.ndarray) -> StepResult:
        self._activate()
        # train_on_batch resets the metrics before running train_function (the trainer of every Keras
        # backend), so the logs are this batch's mean loss and accuracy, not running averages.
        logs = self._model.train_on_batch(x, y, return_dict=True)
        return StepResult(float(logs["loss"]), float(logs["accuracy"]))

    def gradients(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        self._activate()
        grads = self._gradient_arrays(x, np.asarray(y, dtype=self.dtype))
        return {name: np.array(g) for name, g in zip(WEIGHT_NAMES, grads)}

    # -- inference ---------------------------------------------------------------------------------
    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> StepResult:
        self._activate()
        logs = self._model.evaluate(
            x, np.asarray(y, dtype=self.dtype), batch_size=batch_size, verbose=0, return_dict=True
        )
        return StepResult(float(logs["loss"]), float(logs["accuracy"]))

    def predict(self, x: np.ndarray) -> np.ndarray:
        self._activate()
        probs = self._model.predict(x, batch_size=self.spec.batch_size, verbose=0)
        return np.asarray(probs, dtype=np.float64).reshape(-1)

    # -- introspection -----------------------------------------------------------------------------
    def get_weights(self) -> dict[str, np.ndarray]:
        return dict(zip(WEIGHT_NAMES, self._model.get_weights()))

    def trainable_parameter_count(self) -> int:
        return int(sum(np.prod(w.shape) for w in self._model.trainable_weights))

    def runtime_info(self) -> dict[str, Any]:
        keras = self._keras
        built = self._model is not None
        info: dict[str, Any] = {
            "backend": self.name,
            "engine": self.name,
            "keras_backend": keras.config.backend(),
            "parity_group": self.group_for(self.options.extra),
            "requested_threads": self.options.threads,
            "config": dataclasses.asdict(self.config) if self.config is not None else {},
            "kernel_path": self._kernel_path() if built else None,
            "xla": self._xla() if built else None,
            "flush_denormal": self._flush,
            "compile": None,
            "device": self._device,
            "tf32": self._tf32_in_effect() if on_gpu(self._device) else None,
            **self._framework_facts(),
        }
        info["versions"] = {"keras": keras.__version__, **info.get("versions", {})}
        if built:
            optimizer = type(self._model.optimizer)
            info.update(
                mode=self.mode,
                dtype=self.dtype,
                optimizer=f"{optimizer.__module__}.{optimizer.__name__}",
                jit_compile=bool(self._model.jit_compile),
            )
        return info
