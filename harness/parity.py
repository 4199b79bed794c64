"""Numerical parity of backends: same initial weights, same batches, how far apart do they end up?

Framework-neutral: backends are reached only through ``backends.base.load_backend``. For each cell, every
backend is built in ``matched`` mode from one set of ``initial_weights`` and fed identical generated batches;
the first backend is the reference the others are compared with. Checks per cell:

- ``forward``: max |Δ| of output probabilities at init (one batch).
- ``gradients``: max |Δ| per canonical tensor of the gradients of one batch's mean loss at init.
- ``parameters``: max |Δ| per canonical tensor after N training steps.
- ``losses``: max |Δ| of the N per-step training losses.
- ``param_count``: each backend's trainable parameter count equals Keras' count for the spec.

Tolerances are absolute, per check and dtype, set from measurements with headroom (see ``TOLERANCES``).
SimpleRNN's float32 training is chaotic (rounding differences grow to 1e-4..1e-2 within 5-15 steps, depending
on the batches, between *any* two float32 implementations), so by default its multi-step checks run in float64.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from backends.base import DTYPES, Backend, BackendOptions, load_backend
from harness.errors import BenchError
from harness.spec import CELLS, Spec
from harness.weights import WEIGHT_NAMES, check_weights, initial_weights, trainable_parameter_count

DEFAULT_BACKENDS: tuple[str, ...] = ("keras", "torch")
DEFAULT_STEPS = 50
#: ``dtype=None`` ("auto"): float32 everywhere except where float32 cannot show parity.
AUTO_MULTI_STEP_DTYPE: dict[str, str] = {"simplernn": "float64", "lstm": "float32", "gru": "float32"}
#: With float32 forced, SimpleRNN's multi-step checks stop here, before its chaotic training amplifies
#: rounding (measured at the real shape: 1.3e-6 at step 3, 1e-4 from step 5 on).
FLOAT32_SIMPLERNN_MAX_STEPS = 3


@dataclass(frozen=True)
class Tolerance:
    limit: float
    why: str


#: (check, dtype) -> tolerance: absolute max |Δ|, set from measurements at the real shape (batch 128 x 500,
#: vocab 10000, seed 0, 50 steps, keras vs torch, 2 threads) with headroom, and far below what a conversion
#: bug costs. Negative controls measured at the same shape: GRU gate blocks not swapped 2.9e-4 (forward),
#: 1.7e-4 (gradients); LSTM c/o swapped 8e-3, 2e-2; after ONE step, torch's bias_hh trained 3.2e-3 and
#: TensorFlow's per-occurrence embedding velocity dropped 4.6e-3 (parameters).
TOLERANCES: dict[tuple[str, str], Tolerance] = {
    ("forward", "float32"): Tolerance(
        5e-6, "float32 probabilities after 500 recurrent steps: measured <= 1.8e-7 (all cells); bugs >= 2.9e-4"
    ),
    ("gradients", "float32"): Tolerance(
        1e-5,
        "float32 sums over 128x500 terms, accumulated in a different order by each framework: measured "
        "<= 2.1e-7 (SimpleRNN bias; ~5e-6 on batches giving 10x larger gradients); bugs >= 1.7e-4",
    ),
    ("parameters", "float32"): Tolerance(
        5e-5,
        "float32 rounding grows with training: measured after 50 steps 1.7e-6 (LSTM), 7.8e-7 (GRU); "
        "SimpleRNN float32 is chaotic (1e-4 by step 5), so it runs in float64 or over <= 3 steps "
        "(1.3e-6); one step of a bug costs >= 3.2e-3. Longer float32 runs drift further: use float64",
    ),
    ("losses", "float32"): Tolerance(
        1e-5, "float32 per-step batch losses: measured <= 1.2e-7 over 50 steps (LSTM, GRU)"
    ),
    ("forward", "float64"): Tolerance(1e-12, "float64 probabilities: measured ~1e-16"),
    ("gradients", "float64"): Tolerance(1e-11, "float64 gradients: measured ~1e-16 relative to their size"),
    ("parameters", "float64"): Tolerance(
        1e-8,
        "float64, 50 steps: measured 1.7e-11 (SimpleRNN: its training amplifies 1e-16 roundings ~1e5-fold "
        "over 50 steps, depending on the batches); bugs >= 3.2e-3 after one step",
    ),
    ("losses", "float64"): Tolerance(1e-8, "float64 per-step losses: measured 1.2e-11 (SimpleRNN, 50 steps)"),
    ("param_count", "-"): Tolerance(
        0.0, "trainable parameters must equal Keras' count for the spec (torch's frozen bias_hh excluded)"
    ),
}


def tolerance(check: str, dtype: str) -> Tolerance:
    return TOLERANCES[(check, dtype)]


@dataclass(frozen=True)
class Check:
    name: str  # forward | gradients | parameters | losses | param_count
    dtype: str
    steps: int  # training steps before the comparison (0: at init)
    delta: float  # max |Δ| over tensors and compared backends
    tolerance: float
    why: str
    scale: float = math.nan  # max |value| of the reference, to read delta against
    per_tensor: Mapping[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.delta <= self.tolerance)  # NaN fails


@dataclass(frozen=True)
class CellParity:
    cell: str
    param_counts: Mapping[str, int]
    expected_params: int
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


@dataclass(frozen=True)
class ParityReport:
    backends: tuple[str, ...]
    spec: Spec  # cell is per CellParity; batch_size and maxlen are the batch shape used
    steps: int
    dtype: str | None  # None: auto
    threads: int
    cells: tuple[CellParity, ...]
    runtime: Mapping[str, Mapping[str, Any]]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cells)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["spec"] = self.spec.to_dict()
        out["dtype"] = self.dtype or "auto"
        out["passed"] = self.passed
        for cell, cell_out in zip(self.cells, out["cells"]):
            cell_out["passed"] = cell.passed
            for check, check_out in zip(cell.checks, cell_out["checks"]):
                check_out["passed"] = check.passed
        return out


# -- data --------------------------------------------------------------------------------------------
#: Synthetic sentiment: this share of the word ids at or above POLARITY_MIN_ID carries a polarity ...
POLARITY_SHARE = 0.02
POLARITY_MIN_ID = 50  # ... the most frequent words (function words, in real text) carry none ...
LABEL_NOISE = 0.15  # ... and this share of labels is flipped, as ratings and wording disagree in IMDB


def parity_batches(spec: Spec, count: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` deterministic (x int32 (B, T), y float32 (B,)) batches shaped like padded IMDB reviews.

    x: pre-padding with 0, a start token 1, then Zipf-distributed word ids (frequent words repeat, which
    is what makes TensorFlow's per-occurrence embedding update differ from a dense one), OOV id 2 included.
    y: learnable but not easily (a review is positive when the polarities of its words sum above 0, then
    LABEL_NOISE flips), so 50 steps train the way the first steps on IMDB do (accuracy ~0.55-0.6).

    Why it matters: how fast rounding differences grow during training depends on the data. Measured at
    the real shape, 50 steps: with random labels SimpleRNN float64 runs are 1e-2 apart by step 20 (the
    model chases noise); with a task learnt in 5 steps, LSTM float32 runs drift to 1e-3; with these
    batches SimpleRNN float64 stays at ~1e-13 and LSTM/GRU float32 at ~1e-6.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x9A217]))
    b, t, vocab = spec.batch_size, spec.maxlen, spec.vocab_size
    ranks = np.arange(1, vocab - 1, dtype=np.float64)  # ids 2 .. vocab-1
    p = 1.0 / ranks
    p /= p.sum()
    polarity = rng.standard_normal(vocab) * (rng.random(vocab) < POLARITY_SHARE)
    polarity[:POLARITY_MIN_ID] = 0.0
    batches = []
    for _ in range(count):
        x = (rng.choice(vocab - 2, size=(b, t), p=p) + 2).astype(np.int32)
        lengths = rng.integers(1, t + 1, size=b)
        for row, n in enumerate(lengths):
            x[row, : t - n] = 0
            x[row, t - n] = 1
        score = polarity[x].sum(axis=1)
        y = np.where(score == 0, rng.integers(0, 2, size=b), score > 0)
        y = np.where(rng.random(b) < LABEL_NOISE, 1 - y, y).astype(np.float32)
        batches.append((x, y))
    return batches


# -- comparisons -------------------------------------------------------------------------------------
def _max_abs(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def _compare_tensors(
    name: str, dtype: str, steps: int, values: Mapping[str, Mapping[str, np.ndarray]], reference: str
) -> Check:
    ref = values[reference]
    per_tensor = {
        t: max(_max_abs(ref[t], other[t]) for b, other in values.items() if b != reference) for t in WEIGHT_NAMES
    }
    scale = max(float(np.max(np.abs(ref[t]))) for t in WEIGHT_NAMES)
    return _check(name, dtype, steps, max(per_tensor.values()), scale, per_tensor)


def _compare_arrays(name: str, dtype: str, steps: int, values: Mapping[str, Any], reference: str) -> Check:
    delta = max(_max_abs(values[reference], v) for b, v in values.items() if b != reference)
    return _check(name, dtype, steps, delta, float(np.max(np.abs(values[reference]))))


def _check(name: str, dtype: str, steps: int, delta: float, scale: float, per_tensor=None) -> Check:
    tol = tolerance(name, dtype)
    return Check(name, dtype, steps, delta, tol.limit, tol.why, scale, dict(per_tensor or {}))


# -- running -----------------------------------------------------------------------------------------
def multi_step_plan(cell: str, dtype: str | None, steps: int) -> tuple[str, int]:
    """(dtype, steps) of a cell's multi-step checks for the requested dtype (None: auto)."""
    if dtype is None:
        return AUTO_MULTI_STEP_DTYPE[cell], steps
    if cell == "simplernn" and dtype == "float32":
        return dtype, min(steps, FLOAT32_SIMPLERNN_MAX_STEPS)
    return dtype, steps


def open_backends(
    names: Sequence[str], threads: int, extra: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Backend]:
    """Construct every backend first: each pins its framework's threads before any framework work."""
    if len(names) < 2:
        raise BenchError(f"parity needs at least two backends, got {', '.join(names) or 'none'}")
    extra = extra or {}
    return {
        name: load_backend(name)(BackendOptions(threads=threads, deterministic=True, extra=extra.get(name, {})))
        for name in names
    }


def check_cell(backends: Mapping[str, Backend], spec: Spec, steps: int, dtype: str | None = None) -> CellParity:
    """All checks for ``spec.cell``; ``spec.batch_size`` x ``spec.maxlen`` is the batch shape and
    ``spec.seed`` seeds both the initial weights and the batches."""
    reference = next(iter(backends))
    init_dtype = dtype or "float32"
    step_dtype, step_count = multi_step_plan(spec.cell, dtype, steps)
    batches = parity_batches(spec, 1 + step_count, spec.seed)
    x0, y0 = batches[0]

    probs, grads, counts = {}, {}, {}
    for name, backend in backends.items():
        backend.build(spec, initial_weights(spec, dtype=init_dtype), mode="matched", dtype=init_dtype)
        counts[name] = backend.trainable_parameter_count()
        probs[name] = backend.predict(x0)
        grads[name] = _canonical(name, "gradients", spec, backend.gradients(x0, y0))
    expected = trainable_parameter_count(spec)
    count_delta = max(abs(c - expected) for c in counts.values())
    checks = [
        _compare_arrays("forward", init_dtype, 0, probs, reference),
        _compare_tensors("gradients", init_dtype, 0, grads, reference),
        Check("param_count", "-", 0, float(count_delta), 0.0, tolerance("param_count", "-").why, float(expected)),
    ]
    if step_count:
        losses, finals = {}, {}
        for name, backend in backends.items():
            if step_dtype != init_dtype:
                backend.build(spec, initial_weights(spec, dtype=step_dtype), mode="matched", dtype=step_dtype)
            losses[name] = [backend.train_step(x, y).loss for x, y in batches[1:]]
            finals[name] = _canonical(name, "weights", spec, backend.get_weights())
        checks += [
            _compare_tensors("parameters", step_dtype, step_count, finals, reference),
            _compare_arrays("losses", step_dtype, step_count, losses, reference),
        ]
    return CellParity(spec.cell, counts, expected, tuple(checks))


def _canonical(backend: str, what: str, spec: Spec, tensors: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    try:
        check_weights(spec, tensors)
    except BenchError as err:
        raise BenchError(f"backend {backend!r} returned {what} outside the canonical layout: {err}") from None
    return tensors


def run_parity(
    spec: Spec,
    *,
    cells: Iterable[str] = CELLS,
    backends: Sequence[str] = DEFAULT_BACKENDS,
    steps: int = DEFAULT_STEPS,
    dtype: str | None = None,
    threads: int = 1,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> ParityReport:
    """Run every check for every cell. ``dtype=None`` is auto (see ``multi_step_plan``)."""
    if dtype is not None and dtype not in DTYPES:
        raise BenchError(f"unknown dtype {dtype!r}; valid dtypes: {', '.join(DTYPES)}")
    if steps < 0:
        raise BenchError(f"--steps must be >= 0, got {steps}")
    cells = tuple(cells)
    for cell in cells:
        if cell not in CELLS:
            raise BenchError(f"unknown cell {cell!r}; valid cells: {', '.join(CELLS)}")
    opened = open_backends(backends, threads, extra)
    results = tuple(check_cell(opened, spec.replace(cell=cell), steps, dtype) for cell in cells)
    runtime = {name: b.runtime_info() for name, b in opened.items()}
    return ParityReport(tuple(backends), spec, steps, dtype, threads, results, runtime)
