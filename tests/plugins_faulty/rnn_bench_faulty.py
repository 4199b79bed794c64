"""A real regression, injected the way a third party would ship a backend: this distribution registers
``torch`` in the ``rnn_bench.backends`` entry-point group, which replaces the built-in torch backend while
this folder is on PYTHONPATH (records name the class that ran, in ``runtime.backend_class``).

Faults, from the environment so the spec (and so the spec hash the check compares) stays unchanged:
- ``RNN_BENCH_FAULT_SLOWDOWN=0.25``: each step takes 25% longer, by busy-waiting in proportion to the
  step's own time (a sleeping thread would free its core, which a real slowdown doesn't).
- ``RNN_BENCH_FAULT_LR_SCALE=0.1``: the optimizer's learning rate is off by that factor (an accuracy bug).
"""

from __future__ import annotations

import os
import time

from backends.base import StepResult
from backends.torch_eager import TorchBackend


class FaultyTorchBackend(TorchBackend):
    def build(self, spec, weights, mode="matched", dtype="float32") -> None:
        super().build(spec, weights, mode=mode, dtype=dtype)
        scale = float(os.environ.get("RNN_BENCH_FAULT_LR_SCALE", "1"))
        for group in self._optimizer.param_groups:
            group["lr"] *= scale
        self._slowdown = float(os.environ.get("RNN_BENCH_FAULT_SLOWDOWN", "0"))

    def train_step(self, x, y) -> StepResult:
        t0 = time.perf_counter()
        result = super().train_step(x, y)
        if self._slowdown:
            until = time.perf_counter() + self._slowdown * (time.perf_counter() - t0)
            while time.perf_counter() < until:
                pass
        return result
