"""One training step, defined once for every engine and device (docs/methodology.md, "The step").

A step starts with the host's NumPy batch and ends with the batch's loss and accuracy back on the host as
Python floats. The copy to the device is inside the step (a Keras user calling ``train_on_batch`` or ``fit``
on NumPy data pays it too), and reading the loss back makes the device finish the step's work, so a step
cannot end before its kernels have. ``run_step`` holds every backend to that: a backend that hands back a
lazy value (a device tensor, a JAX array, even a NumPy scalar that may wrap one) would let the clock stop
early, and is refused with a one-line error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .errors import BenchError

if TYPE_CHECKING:  # the harness imports no backend at run time here: the worker passes one in
    from backends.base import Backend, StepResult


def run_step(backend: Backend, x: np.ndarray, y: np.ndarray) -> StepResult:
    """``backend.train_step`` on the host batch, checked: both values must be Python floats."""
    result = backend.train_step(x, y)
    for name in ("loss", "accuracy"):
        value = getattr(result, name)
        if type(value) is not float:
            raise BenchError(
                f"backend {backend.name!r} returned its step's {name} as {type(value).__module__}."
                f"{type(value).__qualname__}, not a Python float: a step must end with the loss on the host "
                "(docs/methodology.md, 'The step'), so that its time includes all of the device's work"
            )
    return result
