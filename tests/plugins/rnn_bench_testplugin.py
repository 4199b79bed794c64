"""Backends for tests, found through the real entry-point group (this folder on PYTHONPATH).

- ``numpy-fake``: a tiny NumPy model (mean-pooled embedding -> logistic regression) that trains for real
  but imports no framework, so runner tests take seconds. In matched mode it trains from the canonical
  embedding and holds every canonical tensor it was given (``get_weights`` returns them). Knobs, from
  ``BackendOptions.extra`` or, for tests that drive ``bench run`` as a user would, from the JSON object in
  ``$RNN_BENCH_TEST_EXTRA`` (the worker inherits the environment): make a job crash (``crash_at_step``:
  SIGKILL itself, as the OOM killer would), hang (``hang_at_step``), kill the process that started it
  (``kill_parent_at_step``: a Dask worker dying mid-job), sleep per step (``sleep_s``), use
  ``burn_cpu_ms`` of CPU time per step, or fault in ``touch_pages`` fresh pages per step; optionally only
  for ``only_cell``.
- ``torch-wrongload``: the torch backend with a conversion bug on the way in: it loads the recurrent kernel
  without its transpose (square for SimpleRNN, so the shapes stay valid) and exports correctly.
- ``missing-engine``: requires a package that does not exist (the one-line refusal before any data).
- ``torch-gruswap``: the torch backend with its GRU conversion broken (a negative control in a fresh
  process, where monkeypatching cannot reach).
- ``numpy-fakegpu``: ``numpy-fake`` on a pretend GPU, for the GPU side of the records, report and check on a
  machine without one: it sees a GPU when ``$RNN_BENCH_FAKE_GPU`` is set, and then reports ``cuda:0``, its
  "GPU" facts and a peak device memory (the bytes of its parameters and batches, as if on the device).
- ``numpy-lazyloss``: returns its step's loss as a NumPy scalar, not a Python float (the step definition
  must refuse it).
"""

from __future__ import annotations

import json
import mmap
import os
import signal
import time
from typing import Any

import numpy as np

from backends.base import Backend, StepResult
from backends.device import matched_tf32, on_gpu, resolve_device
from backends.torch_eager import TorchBackend  # imports no framework

PAGE = mmap.PAGESIZE


def _burn_cpu(seconds: float) -> None:
    """Use ``seconds`` of this thread's CPU time (not wall time: a descheduled thread would use less)."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def _touch_pages(pages: int) -> None:
    """Fault in ``pages`` fresh anonymous pages (a new mapping each time, so each write is a minor fault)."""
    with mmap.mmap(-1, pages * PAGE) as region:
        for i in range(pages):
            region[i * PAGE] = 1


class NumpyBackend(Backend):
    name = "numpy-fake"

    def build(self, spec, weights, mode="matched", dtype="float32") -> None:
        rng = np.random.default_rng(spec.seed)
        self.spec = spec
        self.held = {name: np.array(w) for name, w in (weights or {}).items()}
        self.emb = self.held.get("embedding")
        if self.emb is None:
            self.emb = rng.uniform(-0.05, 0.05, (spec.vocab_size, spec.embed_dim))
        self.w = np.zeros(spec.embed_dim)
        self.b = 0.0
        self.steps = 0
        extra = {**json.loads(os.environ.get("RNN_BENCH_TEST_EXTRA") or "{}"), **self.options.extra}
        self.extra = extra if extra.get("only_cell", spec.cell) == spec.cell else {}

    def _forward(self, x):
        h = self.emb[x].mean(axis=1)
        return h, 1.0 / (1.0 + np.exp(-(h @ self.w + self.b)))

    @staticmethod
    def _metrics(p, y) -> StepResult:
        eps = 1e-7
        loss = float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
        return StepResult(loss, float(np.mean((p > 0.5) == (y > 0.5))))

    def train_step(self, x, y) -> StepResult:
        extra = self.extra
        self.steps += 1
        if extra.get("crash_at_step") == self.steps:
            os.kill(os.getpid(), signal.SIGKILL)
        if extra.get("kill_parent_at_step") == self.steps:
            os.kill(os.getppid(), signal.SIGKILL)
        if extra.get("hang_at_step") == self.steps:
            time.sleep(3600)
        if extra.get("sleep_s"):
            time.sleep(float(extra["sleep_s"]))
        if extra.get("burn_cpu_ms"):
            _burn_cpu(float(extra["burn_cpu_ms"]) / 1000)
        if extra.get("touch_pages"):
            _touch_pages(int(extra["touch_pages"]))
        h, p = self._forward(x)
        g = p - y
        self.w -= 0.5 * h.T @ g / len(y)
        self.b -= 0.5 * float(g.mean())
        return self._metrics(p, y)

    def evaluate(self, x, y, batch_size) -> StepResult:
        return self._metrics(self._forward(x)[1], y)

    def predict(self, x):
        return self._forward(x)[1]

    def gradients(self, x, y):
        raise NotImplementedError

    def get_weights(self):
        return {**self.held, "embedding": self.emb}

    def trainable_parameter_count(self) -> int:
        return int(self.emb.size + self.w.size + 1)

    def runtime_info(self) -> dict[str, Any]:
        return {"versions": {"numpy": np.__version__}, "device": "cpu", "threads": self.options.threads}


class WrongLoadTorchBackend(TorchBackend):
    name = "torch-wrongload"

    def _load(self, arrays) -> None:
        arrays = dict(arrays)
        arrays["rnn.weight_hh_l0"] = np.ascontiguousarray(arrays["rnn.weight_hh_l0"].T)  # the dropped transpose
        super()._load(arrays)


class MissingEngine(NumpyBackend):
    """An engine whose framework is not installed: ``bench run``/``bench parity`` must refuse it before any
    data is prepared, naming the package."""

    name = "missing-engine"
    description = "test-only: requires a package that does not exist"
    requires = {"rnn_bench_no_such_module": "rnn-bench-no-such-package"}


def _swap_gru_gates(arrays):
    """torch's GRU blocks r, z swapped back to z, r: the conversion bug the parity check must catch."""
    out = dict(arrays)
    for key in ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0"):
        a = arrays[key]
        u = a.shape[0] // 3
        out[key] = np.concatenate([a[u : 2 * u], a[:u], a[2 * u :]])
    return out


class TorchGruSwap(TorchBackend):
    """torch with a GRU conversion that forgets the gate swap (on load only)."""

    name = "torch-gruswap"

    def _load(self, arrays):
        super()._load(_swap_gru_gates(arrays) if self.spec.cell == "gru" else arrays)


class FakeGpuBackend(NumpyBackend):
    """numpy-fake on a pretend GPU (see the module docstring)."""

    name = "numpy-fakegpu"
    gpu_capable = True
    FAKE_GPU = {"name": "Fake GPU 80GB", "compute_capability": "9.0", "cuda": "13.0", "cudnn": "9.10.2"}

    def __init__(self, options):
        super().__init__(options)
        sees = bool(os.environ.get("RNN_BENCH_FAKE_GPU"))
        self.device = resolve_device(options.device, sees, self.name, "RNN_BENCH_FAKE_GPU is not set")
        self.peak = 0

    def build(self, spec, weights, mode="matched", dtype="float32") -> None:
        super().build(spec, weights, mode, dtype)
        self.mode = mode
        self.peak = self.emb.nbytes

    def train_step(self, x, y) -> StepResult:
        self.peak = max(self.peak, self.emb.nbytes + x.nbytes + y.nbytes)
        return super().train_step(x, y)

    def runtime_info(self) -> dict[str, Any]:
        gpu = on_gpu(self.device)
        tf32 = matched_tf32(getattr(self, "mode", "matched"))
        return {**super().runtime_info(), "device": self.device, "tf32": (bool(tf32) if gpu else None)}

    def reset_device_memory(self) -> None:
        self.peak = 0

    def peak_device_memory_mb(self):
        return self.peak / float(1 << 20) if on_gpu(self.device) else None

    def gpu_info(self):
        return dict(self.FAKE_GPU) if on_gpu(self.device) else None


class LazyLossBackend(NumpyBackend):
    """Hands back its loss as a NumPy scalar: a value that could still be waiting on a device."""

    name = "numpy-lazyloss"

    def train_step(self, x, y) -> StepResult:
        result = super().train_step(x, y)
        return StepResult(np.float32(result.loss), result.accuracy)
