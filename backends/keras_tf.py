"""The ``keras`` backend: Keras 3 on TensorFlow (CPU), the seed model exactly as the classic notebooks write it.

``Sequential([Embedding(vocab, embed), SimpleRNN|LSTM|GRU(units), Dense(1, activation="sigmoid")])`` compiled
with ``RMSprop(learning_rate, rho, epsilon)``, ``binary_crossentropy`` and ``accuracy``. A training step is
``train_on_batch``: the same compiled ``train_function`` that ``fit`` runs. ``matched`` mode loads the
canonical weights (they are Keras' own layout); ``native`` mode lets Keras' initialisers draw from
``spec.seed``. The two modes train identically.

Importing this module imports no framework; TensorFlow and Keras are imported when the backend is
constructed, after ``KERAS_BACKEND`` is set and the thread pools are pinned.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import BenchError
from harness.spec import Spec
from harness.weights import WEIGHT_NAMES

from .base import Backend, BackendOptions, StepResult, check_build_args, require_module
from .config import config_from_extra


@dataclass(frozen=True)
class KerasConfig:
    jit_compile: bool | str = "auto"  # Keras' default; resolves to False on CPU


class KerasBackend(Backend):
    name = "keras"
    requires = ("tensorflow", "keras")

    def __init__(self, options: BackendOptions):
        super().__init__(options)
        self.config = config_from_extra(KerasConfig, options.extra, self.name)
        os.environ["KERAS_BACKEND"] = "tensorflow"  # read once, when keras is first imported
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep oneDNN/CPU-feature banners off the CLI
        self._tf = tf = require_module("tensorflow", "tensorflow-cpu", self.name)
        _pin_threads(tf, options.threads)
        self._keras = keras = require_module("keras", "keras", self.name)
        if keras.config.backend() != "tensorflow":
            raise BenchError(
                f"keras was already imported with the {keras.config.backend()!r} backend in this process; "
                "the keras backend needs KERAS_BACKEND=tensorflow (run it in a fresh process)"
            )
        if options.deterministic:
            # Without it, real-size SimpleRNN runs diverge from step ~6 and LSTM/GRU in the last bits.
            tf.config.experimental.enable_op_determinism()
        self._model: Any = None

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

    # -- building ---------------------------------------------------------------------------------
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
            model.set_weights([np.asarray(weights[name], dtype=dtype) for name in WEIGHT_NAMES])
        model.compile(
            optimizer=keras.optimizers.RMSprop(
                learning_rate=float(spec.learning_rate), rho=float(spec.rho), epsilon=float(spec.epsilon)
            ),
            loss="binary_crossentropy",
            metrics=["accuracy"],
            jit_compile=self.config.jit_compile,
        )
        self._model = model

    # -- training -----------------------------------------------------------------------------------
    def train_step(self, x: np.ndarray, y: np.ndarray) -> StepResult:
        self._activate()
        # train_on_batch resets the metrics before running train_function (keras/src/backend/tensorflow/
        # trainer.py), so the logs are this batch's mean loss and accuracy, not running averages.
        logs = self._model.train_on_batch(x, y, return_dict=True)
        return StepResult(float(logs["loss"]), float(logs["accuracy"]))

    def gradients(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """The gradient Keras' train_step computes (same loss path), without applying it."""
        self._activate()
        tf, model = self._tf, self._model
        xt = tf.convert_to_tensor(x)
        yt = tf.convert_to_tensor(np.asarray(y, dtype=self.dtype))
        with tf.GradientTape() as tape:
            y_pred = model(xt, training=True)
            loss = model.compute_loss(x=xt, y=yt, y_pred=y_pred, training=True)
        grads = tape.gradient(loss, model.trainable_weights)
        # The embedding's gradient is an IndexedSlices (one slice per token); densifying sums duplicates.
        return {name: tf.convert_to_tensor(g).numpy() for name, g in zip(WEIGHT_NAMES, grads)}

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
        tf, keras = self._tf, self._keras
        threading = tf.config.threading
        info: dict[str, Any] = {
            "backend": self.name,
            "versions": {"keras": keras.__version__, "tensorflow": tf.__version__},
            "keras_backend": keras.config.backend(),
            "device": "gpu" if tf.config.list_logical_devices("GPU") else "cpu",
            "threads": threading.get_intra_op_parallelism_threads(),
            "interop_threads": threading.get_inter_op_parallelism_threads(),
            "requested_threads": self.options.threads,
            "deterministic": self.options.deterministic,
            "config": dataclasses.asdict(self.config),
        }
        if self._model is not None:
            info.update(mode=self.mode, dtype=self.dtype, jit_compile=bool(self._model.jit_compile))
        return info


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
