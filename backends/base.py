"""The backend interface and its registry.

A backend is found by name through the ``rnn_bench.backends`` entry-point group (third parties register
their own in their package's metadata). The harness talks to backends only through ``Backend``; it never
imports a framework.

Life cycle, all inside one worker process:

1. ``cls = load_backend(name)`` -- imports the backend module only (no framework yet).
2. ``backend = cls(BackendOptions(threads=..., deterministic=..., device=...))`` -- pins the framework's
   intra- and inter-op thread pools *before* the framework does any work, and resolves the device
   (``--device cpu|gpu|auto``: ``backends.device``); raises ``BenchError`` naming the package to install when
   the framework is missing, and saying why when ``gpu`` was asked for and the framework sees none.
3. ``backend.build(spec, weights, mode=..., dtype=...)`` -- builds the model (``weights=None`` in
   ``native`` mode: the framework's own initialisers, seeded from ``spec.seed``).
4. ``backend.train_step(x, y)`` repeatedly -- one real optimizer step, from the host's NumPy batch (the copy
   to the device is part of the step) to the *batch's* mean loss and accuracy back on the host as Python
   floats (reading them makes the device finish the step's work, so the step's timing includes all of it;
   ``harness.step`` enforces the types).
5. ``backend.evaluate(x, y, batch_size)`` -- mean loss/accuracy over a dataset.

What a backend declares without importing its framework (``bench backends`` lists it; ``bench run`` and
``bench parity`` check it before any data is prepared): ``description``, ``requires`` (import name -> the
package to install), ``config_class`` (its frozen config dataclass, filled from ``BackendOptions.extra``)
and its parity group (``parity_group``, or ``group_for(extra)`` where the config decides it).

``runtime_info()`` reports facts read back from the framework, not the request. The worker stores them as
the record's ``runtime`` object; every backend returns these keys (None where they do not apply):

- ``engine``: the registered name that ran (e.g. ``"keras-jax"``); ``backend_class`` is added by the worker.
- ``parity_group``: ``"tf-sparse"`` or ``"dense"`` (``PARITY_GROUPS``): how the optimizer treats the
  embedding gradient. Native mode: the group of the framework's own behaviour.
- ``kernel_path``: what really ran the recurrence: ``"tf-graph"`` (TensorFlow while-loop),
  ``"xla"``, ``"jax-jit-scan"`` / ``"jax-scan"``, ``"keras-torch-python-loop"``, ``"torch-mkldnn-rnn"``
  (oneDNN), ``"torch-native-rnn"`` (ATen's cell loop), ``"inductor"`` (the RNN inside a compiled graph),
  ``"inductor+<eager path>"`` (compiled graphs around an eager RNN).
- ``xla``: whether XLA compiled the train step (Keras on TensorFlow or JAX), read from the model after it
  ran; None where the engine has no XLA.
- ``flush_denormal``: whether the framework's kernels flush subnormal floats to zero, read back by
  multiplying a subnormal by one in the framework (None if it cannot be read).
- ``compile``: None, or for torch.compile ``{"setting", "graphs", "graph_breaks", "compile_s", ...}``;
  ``compile_s`` is the compile time inside the first step (reported apart from step time).
- ``device``: the device the framework really trains on, read back from it: ``"cpu"`` or ``"cuda:N"``
  (the worker adds ``device_requested``, the ``--device`` asked for).
- ``tf32``: whether TensorFloat-32 may round float32 matmuls/cuDNN RNNs on the GPU, as the framework's
  settings stand (matched mode turns it off; native mode keeps the framework's default); None on the CPU.
- ``deterministic``: whether the framework's deterministic settings are in effect (GPU: torch
  ``use_deterministic_algorithms``, TensorFlow op determinism, XLA's deterministic ops).
- ``backend``, ``versions``, ``threads``, ``interop_threads``, ``requested_threads``, ``config``, and after
  ``build``: ``mode``, ``dtype``, ``optimizer``.

On a GPU the worker also reads ``gpu_info()`` (the record's ``environment.gpu``) and the job's peak device
memory (``reset_device_memory()`` before ``build``, ``peak_device_memory_mb()`` at the end).

The worker reads ``runtime_info()`` after ``build``, again after the first step (XLA and compilation are
decided there) and at the end of training.
"""

from __future__ import annotations

import abc
import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar

import numpy as np

from harness.devices import DEVICE_REQUESTS
from harness.errors import BenchError
from harness.spec import Spec
from harness.weights import check_weights

from .config import config_from_extra, parse_value

ENTRY_POINT_GROUP = "rnn_bench.backends"
MODES: tuple[str, ...] = ("matched", "native")
DTYPES: tuple[str, ...] = ("float32", "float64")

#: Built-in backends, used when the package metadata is not installed (e.g. running from a checkout).
BUILTIN: dict[str, str] = {
    "keras": "backends.keras_tf:KerasBackend",
    "keras-xla": "backends.keras_xla:KerasXlaBackend",
    "keras-jax": "backends.keras_jax:KerasJaxBackend",
    "keras-torch": "backends.keras_torch:KerasTorchBackend",
    "torch": "backends.torch_eager:TorchBackend",
    "torch-compile": "backends.torch_compile:TorchCompileBackend",
}

#: Parity groups: the same Keras code trains differently depending on how the embedding gradient reaches
#: RMSprop, so matched training agrees only inside a group (forward pass and gradients agree everywhere).
PARITY_GROUPS: dict[str, str] = {
    "tf-sparse": "TensorFlow hands RMSprop the embedding gradient as IndexedSlices, one slice per token "
    "occurrence: the squared-gradient average accumulates per occurrence (keras, keras-xla, torch "
    "optimizer_semantics=tf-sparse)",
    "dense": "the embedding gradient is a dense array, duplicate tokens summed before squaring (keras-jax, "
    "keras-torch, torch optimizer_semantics=dense)",
}


@dataclass(frozen=True)
class BackendOptions:
    """Settings common to every backend; a backend may add its own config dataclass beside it."""

    threads: int = 1  # intra-op threads; inter-op is set to the same value
    deterministic: bool = True  # bit-identical reruns (TF: enable_op_determinism)
    extra: Mapping[str, Any] = field(default_factory=dict)  # backend-specific knobs: its config_class fields
    device: str = "cpu"  # --device: cpu | gpu | auto (harness.devices.DEVICE_REQUESTS)


@dataclass(frozen=True)
class StepResult:
    loss: float  # mean loss over the batch
    accuracy: float  # share of the batch classified correctly at threshold 0.5


class Backend(abc.ABC):
    """One framework's implementation of the common model. See the module docstring for the life cycle."""

    name: ClassVar[str]
    #: One line for ``bench backends``.
    description: ClassVar[str] = ""
    #: Import name -> the pip package that provides it, named in the error when it is missing. A plain tuple
    #: of import names is accepted too (the package is then named like the module).
    requires: ClassVar[Mapping[str, str] | tuple[str, ...]] = {}
    #: The backend's frozen config dataclass, filled from ``BackendOptions.extra`` (None: takes no options).
    config_class: ClassVar[type | None] = None
    #: Parity group in matched mode (``PARITY_GROUPS``); None: not comparable (e.g. a test fake).
    parity_group: ClassVar[str | None] = None
    #: Why this engine cannot train in float64 (empty: it can); parity then checks in float32.
    no_float64: ClassVar[str] = ""
    #: Whether the engine can train on a GPU (``--device gpu|auto``); one that cannot trains on the CPU, and
    #: ``--device gpu`` refuses it before any data is prepared.
    gpu_capable: ClassVar[bool] = False

    def __init__(self, options: BackendOptions):
        validate_choice("device", options.device, DEVICE_REQUESTS)
        if options.device == "gpu" and not self.gpu_capable:
            raise BenchError(gpu_incapable_message(self.name))
        self.options = options

    @classmethod
    def configure(cls, extra: Mapping[str, Any]) -> Any:
        """The config dataclass for these options (one-line BenchError for an unknown or mistyped one)."""
        if cls.config_class is None:
            return None
        return config_from_extra(cls.config_class, extra, cls.name)

    @classmethod
    def group_for(cls, extra: Mapping[str, Any]) -> str | None:
        """The matched-mode parity group with these options (a backend whose config decides it overrides)."""
        return cls.parity_group

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
        """Facts read back from the framework: the keys listed in the module docstring."""

    # -- the device (engines that can train on a GPU override these) --------------------------------------
    def reset_device_memory(self) -> None:  # noqa: B027 - optional: only engines on a GPU have a peak to reset
        """Start counting the device's peak memory afresh (the worker calls it before ``build``)."""

    def peak_device_memory_mb(self) -> float | None:
        """Peak memory allocated on the GPU since ``reset_device_memory`` (MiB); None on the CPU."""
        return None

    def gpu_info(self) -> dict[str, Any] | None:
        """The GPU the engine trains on, from its framework (``harness.records.GpuInfo``'s fields: name,
        compute_capability, memory_mb, cuda, cudnn); None on the CPU."""
        return None

    def synchronize(self) -> None:  # noqa: B027 - the CPU's work is done when a call returns
        """Wait until the device has finished all the work queued so far. Not part of a step (a step ends
        with the loss on the host, which already waits); the step-timing check calls it after a step to
        prove there was nothing left to wait for (scripts/gpu/step_sync.py)."""


def requirements(cls: type[Backend]) -> dict[str, str]:
    """Import name -> package to install, whichever form the class declares."""
    req = cls.requires
    return dict(req) if isinstance(req, Mapping) else {module: module for module in req}


def missing_package(cls: type[Backend]) -> tuple[str, str] | None:
    """(import name, package) of the first requirement that is not installed, or None. Looks the modules up
    on the import path (importlib.util.find_spec) without importing them."""
    for module, package in requirements(cls).items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # ValueError: sys.modules holds None for it (import blocked)
            found = False
        if not found:
            return module, package
    return None


def missing_message(name: str, module: str, package: str) -> str:
    return (
        f"backend {name!r} needs the {package!r} package (module {module!r} is not installed); "
        f"install it (pip install {package}) or choose another backend with --backends"
    )


def framework_versions(cls: type[Backend]) -> dict[str, str | None]:
    """Installed version of each required package, from package metadata (imports nothing)."""
    try:
        providers = metadata.packages_distributions()
    except Exception:  # broken metadata of an unrelated distribution
        providers = {}
    versions: dict[str, str | None] = {}
    for module, package in requirements(cls).items():
        version = None
        for dist in [*providers.get(module, []), package]:
            try:
                version = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
        versions[package] = version
    return versions


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
    """Import a backend class by registered name (``parse_backend`` splits off a variant's options).
    Imports no framework."""
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


# -- backend variants: a registered name with config options -------------------------------------------
#: ``torch:optimizer_semantics=dense:flush_denormal=true`` is the ``torch`` backend with those config fields.
VARIANT_SEP = ":"


@dataclass(frozen=True)
class BackendRef:
    """A backend as named on the command line: registered name plus config options."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Canonical text (options sorted, booleans lower-case): the job's backend name in records."""
        parts = [f"{k}={_format_value(v)}" for k, v in sorted(self.options.items())]
        return VARIANT_SEP.join([self.name, *parts])

    def backend_class(self) -> type[Backend]:
        return load_backend(self.name)


def _format_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def parse_backend(text: str) -> BackendRef:
    """``NAME`` or ``NAME:KEY=VALUE[:KEY=VALUE...]`` -> BackendRef (values: true/false, numbers, text)."""
    name, *parts = text.strip().split(VARIANT_SEP)
    options: dict[str, Any] = {}
    for part in parts:
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise BenchError(
                f"backend {text!r}: expected NAME{VARIANT_SEP}KEY=VALUE (e.g. torch:flush_denormal=true), got {part!r}"
            )
        options[key.strip()] = parse_value(value.strip())
    return BackendRef(name.strip(), options)


def gpu_incapable_message(name: str) -> str:
    return f"backend {name!r} trains on the CPU only; use --device cpu or auto, or choose another backend"


def resolve_backends(labels: list[str] | tuple[str, ...], device: str = "cpu") -> list[BackendRef]:
    """Parse and check backends named on the command line, before any data is prepared: a registered name,
    valid config options, every required package installed (looked up, not imported), and with
    ``device="gpu"`` an engine that can train on one. One-line BenchError (exit 2) for the first problem."""
    validate_choice("device", device, DEVICE_REQUESTS)
    refs = [parse_backend(label) for label in labels]
    for ref in refs:
        cls = ref.backend_class()
        cls.configure(ref.options)
        missing = missing_package(cls)
        if missing is not None:
            raise BenchError(missing_message(ref.name, *missing))
        if device == "gpu" and not cls.gpu_capable:
            raise BenchError(gpu_incapable_message(ref.name))
    return refs


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
