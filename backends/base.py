"""The backend interface and its registry.

A backend is found by name through the ``rnn_bench.backends`` entry-point group (third parties register
their own in their package's metadata). The harness talks to backends only through ``Backend``; it never
imports a framework.

Life cycle, all inside one worker process:

1. ``cls = load_backend(name)`` -- imports the backend module only (no framework yet).
2. ``backend = cls(BackendOptions(threads=..., deterministic=...))`` -- pins the framework's intra- and
   inter-op thread pools *before* the framework does any work; raises ``BenchError`` naming the package to
   install when the framework is missing.
3. ``backend.build(spec, weights, mode=..., dtype=...)`` -- builds the model (``weights=None`` in
   ``native`` mode: the framework's own initialisers, seeded from ``spec.seed``).
4. ``backend.train_step(x, y)`` repeatedly -- one real optimizer step; returns the *batch's* mean loss and
   accuracy as Python floats (so the timing includes getting them back to the host).
5. ``backend.evaluate(x, y, batch_size)`` -- mean loss/accuracy over a dataset.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar

import numpy as np

from harness.errors import BenchError
from harness.spec import Spec
from harness.weights import check_weights

ENTRY_POINT_GROUP = "rnn_bench.backends"
MODES: tuple[str, ...] = ("matched", "native")
DTYPES: tuple[str, ...] = ("float32", "float64")

#: Built-in backends, used when the package metadata is not installed (e.g. running from a checkout).
BUILTIN: dict[str, str] = {
    "keras": "backends.keras_tf:KerasBackend",
    "torch": "backends.torch_eager:TorchBackend",
}


@dataclass(frozen=True)
class BackendOptions:
    """Settings common to every backend; a backend may add its own config dataclass beside it."""

    threads: int = 1  # intra-op threads; inter-op is set to the same value
    deterministic: bool = True  # bit-identical reruns (TF: enable_op_determinism)
    extra: Mapping[str, Any] = field(default_factory=dict)  # backend-specific knobs, e.g. from a test plugin


@dataclass(frozen=True)
class StepResult:
    loss: float  # mean loss over the batch
    accuracy: float  # share of the batch classified correctly at threshold 0.5


class Backend(abc.ABC):
    """One framework's implementation of the common model. See the module docstring for the life cycle."""

    name: ClassVar[str]
    #: The pip package(s) that must be importable, named in the error when they are not.
    requires: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: BackendOptions):
        self.options = options

    @abc.abstractmethod
    def build(
        self,
        spec: Spec,
        weights: Mapping[str, np.ndarray] | None,
        mode: str = "matched",
        dtype: str = "float32",
    ) -> None:
        """Build (and compile) the model; ``weights`` is in the canonical layout of harness.weights."""

    @abc.abstractmethod
    def train_step(self, x: np.ndarray, y: np.ndarray) -> StepResult:
        """One optimizer step on this batch (x: int32 (B, T); y: float32 (B,))."""

    @abc.abstractmethod
    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> StepResult:
        """Sample-weighted mean loss and accuracy over ``x``, without training."""

    @abc.abstractmethod
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Sigmoid probabilities, shape (B,), as float64."""

    @abc.abstractmethod
    def gradients(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of the batch's mean loss, dense, in the canonical layout (no update is made)."""

    @abc.abstractmethod
    def get_weights(self) -> dict[str, np.ndarray]:
        """Current weights in the canonical layout."""

    @abc.abstractmethod
    def trainable_parameter_count(self) -> int:
        """Trainable parameters as the framework counts them (frozen tensors excluded)."""

    @abc.abstractmethod
    def runtime_info(self) -> dict[str, Any]:
        """Framework versions, device, thread settings, and anything else worth recording."""


def available_backends() -> dict[str, str]:
    """Name -> "module:Class" for every registered backend.

    Precedence: another distribution's entry point > rnn-bench's own entry points > the built-in table.
    A plugin may therefore replace a built-in backend under the same name (the regression-check tests do
    this to inject a known slowdown); the worker records which class actually ran."""
    own: dict[str, str] = {}
    plugins: dict[str, str] = {}
    try:
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            is_own = dist is not None and (dist.name or "").replace("_", "-").lower() == "rnn-bench"
            (own if is_own else plugins)[ep.name] = ep.value
    except Exception:  # broken metadata of an unrelated distribution must not break the harness
        pass
    return {**BUILTIN, **own, **plugins}


def load_backend(name: str) -> type[Backend]:
    """Import a backend class by registered name. Imports no framework."""
    known = available_backends()
    if name not in known:
        raise BenchError(f"unknown backend {name!r}; valid backends: {', '.join(sorted(known))}")
    target = known[name]
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as err:
        raise BenchError(f"backend {name!r} is registered as {target} but cannot be loaded: {err}") from None
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BenchError(f"backend {name!r} ({target}) is not a subclass of backends.base.Backend")
    return cls


def require_module(module: str, package: str, backend: str) -> Any:
    """Import a framework module or raise a one-line error naming the package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise BenchError(
            f"backend {backend!r} needs the {package!r} package, which is not importable ({err}); "
            f"install it (pip install {package}) or choose another backend with --backends"
        ) from None


def validate_choice(kind: str, value: str, valid: tuple[str, ...]) -> str:
    if value not in valid:
        raise BenchError(f"unknown {kind} {value!r}; valid {kind}s: {', '.join(valid)}")
    return value


def check_build_args(
    spec: Spec, weights: Mapping[str, np.ndarray] | None, mode: str, dtype: str
) -> Mapping[str, np.ndarray] | None:
    """Validate ``Backend.build``'s arguments; return the weights to load (None: the framework's own init).

    ``matched`` needs canonical weights of the right shapes; ``native`` ignores any it is given."""
    validate_choice("mode", mode, MODES)
    validate_choice("dtype", dtype, DTYPES)
    if mode == "native":
        return None
    if weights is None:
        raise BenchError("matched mode needs initial weights (harness.weights.initial_weights); got none")
    check_weights(spec, weights)
    return weights
