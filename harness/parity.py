"""Numerical parity of backends: same initial weights, same batches, how far apart do they end up?

Framework-neutral: each backend runs in a fresh process of its own (``harness.parity_worker``: ``KERAS_BACKEND``
is read once per process, and each framework is imported only in its own process); this module compares what
they return. Every backend is built in ``matched`` mode from one set of ``initial_weights`` and fed identical
generated batches. Checks per cell:

- ``load``: the weights each backend reads back (``get_weights``) right after loading the canonical initial
  weights equal them exactly (every conversion is a transpose and a permutation of gate blocks).
- ``forward``: max |Δ| of output probabilities at init (one batch), every backend against the first.
- ``gradients``: max |Δ| per canonical tensor of the gradients of one batch's mean loss at init, against the
  first backend.
- ``param_count``: each backend's trainable parameter count equals Keras' count for the spec.
- ``parameters``: max |Δ| per canonical tensor after N training steps, against the first backend of the same
  parity group.
- ``losses``: max |Δ| of the N per-step training losses, inside the group likewise.

Parity groups (``backends.base.PARITY_GROUPS``): the forward pass and the gradients are the same function on
every engine, but RMSprop's embedding velocity is not. On TensorFlow it accumulates the squared gradient per
token occurrence (IndexedSlices); on JAX and on Keras' torch backend, of the gradient summed over duplicates.
Training therefore agrees only inside a group. Between groups the difference is measured and explained, not
failed: after the first step it must sit exactly in the embedding rows of tokens that occur more than once
in that batch (everything else agrees to rounding, which is checked), and it grows from there.

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

from backends.base import DTYPES, Backend, missing_package, parse_backend, resolve_backends
from harness.devices import require_gpu
from harness.errors import BenchError
from harness.spec import CELLS, Spec
from harness.step import run_step
from harness.weights import WEIGHT_NAMES, check_weights, initial_weights, trainable_parameter_count

DEFAULT_BACKENDS: tuple[str, ...] = ("keras", "torch")
#: ``--backends all``: every built-in engine, in both parity groups (torch in each of its semantics); the
#: first of each group is its reference. Engines whose packages are missing are left out and named.
ALL_BACKENDS: tuple[str, ...] = (
    "keras",
    "keras-xla",
    "torch",
    "torch-compile",
    "keras-jax",
    "keras-torch",
    "torch:optimizer_semantics=dense",
)
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
#: vocab 10000, seed 0, 50 steps) with headroom, and far below what a conversion bug costs. Measured first for
#: keras vs torch (2 threads), then for every engine against its reference (``bench parity --backends all``,
#: 1 thread, docs/measurements/2026-11-30-parity-all-engines.md). Negative controls measured at the same
#: shape: GRU gate blocks not swapped 2.9e-4 (forward), 1.7e-4 (gradients); LSTM c/o swapped 8e-3, 2e-2;
#: after ONE step, torch's bias_hh trained 3.2e-3 and TensorFlow's per-occurrence embedding velocity dropped
#: 4.6e-3 (parameters).
TOLERANCES: dict[tuple[str, str], Tolerance] = {
    ("forward", "float32"): Tolerance(
        5e-6,
        "float32 probabilities after 500 recurrent steps: measured <= 1.8e-7 (torch engines), 3.0e-7 (XLA: "
        "keras-xla, keras-jax; SimpleRNN); bugs >= 2.9e-4",
    ),
    ("gradients", "float32"): Tolerance(
        3e-5,
        "float32 sums over 128x500 terms, accumulated in a different order by each framework: measured "
        "<= 3.9e-7 (torch engines), 1.4e-6 (XLA fuses and reorders: keras-xla 1.37e-6, keras-jax 1.04e-6; "
        "SimpleRNN); batches giving 10x larger gradients give ~10x more; bugs >= 1.7e-4",
    ),
    ("parameters", "float32"): Tolerance(
        5e-5,
        "float32 rounding grows with training: measured after 50 steps <= 1.7e-6 (LSTM), 7.8e-7 (GRU), every "
        "engine; SimpleRNN float32 is chaotic (1e-4 by step 5), so it runs in float64 or over <= 3 steps "
        "(<= 6.8e-7); one step of a bug costs >= 3.2e-3. Longer float32 runs drift further: use float64",
    ),
    ("losses", "float32"): Tolerance(
        1e-5, "float32 per-step batch losses: measured <= 1.8e-7 over 50 steps (every engine, LSTM, GRU)"
    ),
    ("forward", "float64"): Tolerance(1e-12, "float64 probabilities: measured ~1e-16"),
    ("gradients", "float64"): Tolerance(1e-11, "float64 gradients: measured ~1e-16 relative to their size"),
    ("parameters", "float64"): Tolerance(
        1e-8,
        "float64, 50 steps: measured 1.7e-11 (SimpleRNN: its training amplifies 1e-16 roundings ~1e5-fold "
        "over 50 steps, depending on the batches); bugs >= 3.2e-3 after one step",
    ),
    ("losses", "float64"): Tolerance(1e-8, "float64 per-step losses: measured 1.2e-11 (SimpleRNN, 50 steps)"),
    ("load", "-"): Tolerance(
        0.0, "the canonical weights read back right after loading: conversions only transpose and permute"
    ),
    ("param_count", "-"): Tolerance(
        0.0, "trainable parameters must equal Keras' count for the spec (torch's frozen bias_hh excluded)"
    ),
}


def tolerance(check: str, dtype: str) -> Tolerance:
    return TOLERANCES[(check, dtype)]


@dataclass(frozen=True)
class Check:
    name: str  # load | forward | gradients | param_count | parameters | losses
    dtype: str
    steps: int  # training steps before the comparison (0: at init)
    delta: float  # max |Δ| over tensors and compared backends
    tolerance: float
    why: str
    scale: float = math.nan  # max |value| of the reference, to read delta against
    per_tensor: Mapping[str, float] = field(default_factory=dict)  # max over the compared backends
    reference: str = ""  # the backend the others are compared with
    group: str | None = None  # the parity group compared inside; None: every backend (init checks)
    per_backend: Mapping[str, float] = field(default_factory=dict)  # max |Δ| of each compared backend

    @property
    def passed(self) -> bool:
        return bool(self.delta <= self.tolerance)  # NaN fails


@dataclass(frozen=True)
class CrossGroup:
    """The difference between two parity groups' references: measured and explained, not a failure.

    After the first step it must be confined to the embedding rows of tokens that occur more than once in
    that step's batch (the only place where per-occurrence and summed squares differ); everything else must
    agree within the parameters tolerance (``passed``). After all steps: how far the groups drift apart."""

    groups: tuple[str, str]
    references: tuple[str, str]
    dtype: str
    steps: int
    repeated_rows: float  # after step 1: embedding rows of repeated tokens (the semantics)
    rest: float  # after step 1: everything else (rounding)
    parameters: float  # after all steps, max over tensors
    losses: float  # max over the per-step losses
    tolerance: float

    @property
    def passed(self) -> bool:
        return bool(self.rest <= self.tolerance)


@dataclass(frozen=True)
class CellParity:
    cell: str
    param_counts: Mapping[str, int]
    expected_params: int
    checks: tuple[Check, ...]
    cross_groups: tuple[CrossGroup, ...] = ()
    note: str = ""  # why the plan differs from the request (e.g. a backend that cannot train in float64)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks) and all(x.passed for x in self.cross_groups)


@dataclass(frozen=True)
class ParityReport:
    backends: tuple[str, ...]
    groups: Mapping[str, str]  # backend -> parity group
    spec: Spec  # cell is per CellParity; batch_size and maxlen are the batch shape used
    steps: int
    dtype: str | None  # None: auto
    threads: int
    cells: tuple[CellParity, ...]
    runtime: Mapping[str, Mapping[str, Any]]
    skipped: Mapping[str, str] = field(default_factory=dict)  # backend -> why it was left out (``all``)
    device: str = "cpu"  # --device asked for; each backend's runtime["device"] says what it used

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
            for cross, cross_out in zip(cell.cross_groups, cell_out["cross_groups"]):
                cross_out["passed"] = cross.passed
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


# -- one backend's arrays --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CellArrays:
    """What one backend computed for one cell; the parity worker sends it to the parent process."""

    param_count: int
    loaded: Mapping[str, np.ndarray]  # get_weights() right after loading the canonical initial weights
    probs: np.ndarray  # probabilities at init on batch 0
    grads: Mapping[str, np.ndarray]  # gradients at init on batch 0, canonical layout
    step_dtype: str
    losses: np.ndarray  # one per training step (batches 1..N)
    first: Mapping[str, np.ndarray] | None  # weights after the first step (None: no steps)
    final: Mapping[str, np.ndarray] | None  # weights after the last step


@dataclass(frozen=True)
class CellPlan:
    """The dtypes and step count of one cell's checks, the same for every backend of a run."""

    init_dtype: str  # forward and gradients at init
    step_dtype: str  # parameters and losses after training
    steps: int
    note: str = ""  # why the plan differs from the request, if it does


def multi_step_plan(cell: str, dtype: str | None, steps: int) -> tuple[str, int]:
    """(dtype, steps) of a cell's multi-step checks for the requested dtype (None: auto)."""
    if dtype is None:
        return AUTO_MULTI_STEP_DTYPE[cell], steps
    if cell == "simplernn" and dtype == "float32":
        return dtype, min(steps, FLOAT32_SIMPLERNN_MAX_STEPS)
    return dtype, steps


def plan_cell(cell: str, dtype: str | None, steps: int, no_float64: Mapping[str, str] | None = None) -> CellPlan:
    """The plan for ``cell``. ``no_float64``: backend -> why it cannot train in float64; with any, auto
    falls back to float32 (SimpleRNN capped as when float32 is forced) and a forced float64 is refused."""
    no_float64 = dict(no_float64 or {})
    if dtype == "float64" and no_float64:
        backend, why = next(iter(no_float64.items()))
        raise BenchError(f"backend {backend!r} cannot be checked in float64 ({why}); use --dtype auto or float32")
    step_dtype, step_count = multi_step_plan(cell, dtype, steps)
    if step_dtype == "float64" and no_float64:
        backend, why = next(iter(no_float64.items()))
        step_dtype, step_count = multi_step_plan(cell, "float32", steps)
        note = f"float32 ({step_count} steps): {backend} cannot train in float64 ({why})"
        return CellPlan(dtype or "float32", step_dtype, step_count, note)
    return CellPlan(dtype or "float32", step_dtype, step_count)


def collect_cell(backend: Backend, spec: Spec, plan: CellPlan, label: str = "") -> CellArrays:
    """Run one backend through every check's computation for ``spec.cell``; ``spec.batch_size`` x
    ``spec.maxlen`` is the batch shape and ``spec.seed`` seeds both the initial weights and the batches."""
    label = label or backend.name
    batches = parity_batches(spec, 1 + plan.steps, spec.seed)
    x0, y0 = batches[0]
    backend.build(spec, initial_weights(spec, dtype=plan.init_dtype), mode="matched", dtype=plan.init_dtype)
    count = backend.trainable_parameter_count()
    loaded = _canonical(label, "weights", spec, backend.get_weights())
    probs = np.asarray(backend.predict(x0))
    grads = _canonical(label, "gradients", spec, backend.gradients(x0, y0))
    losses: list[float] = []
    first = final = None
    if plan.steps:
        if plan.step_dtype != plan.init_dtype:
            backend.build(spec, initial_weights(spec, dtype=plan.step_dtype), mode="matched", dtype=plan.step_dtype)
        for k, (x, y) in enumerate(batches[1:]):
            losses.append(run_step(backend, x, y).loss)
            if k == 0:
                first = _canonical(label, "weights", spec, backend.get_weights())
        final = _canonical(label, "weights", spec, backend.get_weights())
    return CellArrays(count, loaded, probs, grads, plan.step_dtype, np.asarray(losses, dtype=np.float64), first, final)


def _canonical(backend: str, what: str, spec: Spec, tensors: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    try:
        check_weights(spec, tensors)
    except BenchError as err:
        raise BenchError(f"backend {backend!r} returned {what} outside the canonical layout: {err}") from None
    return {name: np.array(tensors[name]) for name in WEIGHT_NAMES}


# -- comparisons -------------------------------------------------------------------------------------
def _max_abs(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def _tensor_deltas(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> dict[str, float]:
    return {t: _max_abs(a[t], b[t]) for t in WEIGHT_NAMES}


def _compare(
    name: str,
    dtype: str,
    steps: int,
    values: Mapping[str, Any],
    reference: str,
    group: str | None = None,
) -> Check:
    """``values``: backend -> array, or backend -> canonical tensors (then per tensor too)."""
    ref = values[reference]
    others = [b for b in values if b != reference]
    per_tensor: dict[str, float] = {}
    per_backend: dict[str, float] = {}
    for b in others:
        if isinstance(ref, Mapping):
            deltas = _tensor_deltas(ref, values[b])
            for t, d in deltas.items():
                per_tensor[t] = max(per_tensor.get(t, 0.0), d)
            per_backend[b] = max(deltas.values())
        else:
            per_backend[b] = _max_abs(ref, values[b])
    if isinstance(ref, Mapping):
        scale = max(float(np.max(np.abs(ref[t]))) for t in WEIGHT_NAMES)
    else:
        scale = float(np.max(np.abs(ref))) if np.size(ref) else 0.0
    delta = max(per_backend.values(), default=0.0)
    tol = tolerance(name, dtype)
    return Check(name, dtype, steps, delta, tol.limit, tol.why, scale, per_tensor, reference, group, per_backend)


def compare_cell(
    spec: Spec, arrays: Mapping[str, CellArrays], groups: Mapping[str, str | None], note: str = ""
) -> CellParity:
    """Every check for ``spec.cell`` from the backends' arrays (the first backend is the reference of the
    init checks; the first of each group is that group's reference). Pure: no backend runs here."""
    if len(arrays) < 2:
        raise BenchError(f"parity needs at least two backends, got {', '.join(arrays) or 'none'}")
    reference = next(iter(arrays))
    init_dtype = next(iter(arrays.values())).grads["embedding"].dtype.name
    counts = {b: a.param_count for b, a in arrays.items()}
    expected = trainable_parameter_count(spec)
    initial = initial_weights(spec, dtype=init_dtype)
    checks = [
        _compare("load", "-", 0, {"canonical": initial, **{b: a.loaded for b, a in arrays.items()}}, "canonical"),
        _compare("forward", init_dtype, 0, {b: a.probs for b, a in arrays.items()}, reference),
        _compare("gradients", init_dtype, 0, {b: a.grads for b, a in arrays.items()}, reference),
        Check(
            "param_count",
            "-",
            0,
            float(max(abs(c - expected) for c in counts.values())),
            0.0,
            tolerance("param_count", "-").why,
            float(expected),
            reference=reference,
            per_backend={b: float(abs(c - expected)) for b, c in counts.items()},
        ),
    ]
    members = _group_members(arrays, groups)
    stepped = {b: a for b, a in arrays.items() if a.final is not None}
    if stepped:
        step_dtype = next(iter(stepped.values())).step_dtype
        steps = len(next(iter(stepped.values())).losses)
        for group, names in members.items():
            names = [b for b in names if b in stepped]
            if len(names) < 2:
                continue  # a group of one: nothing to compare inside it (the cross-group figure still shows)
            checks += [
                _compare("parameters", step_dtype, steps, {b: stepped[b].final for b in names}, names[0], group),
                _compare("losses", step_dtype, steps, {b: stepped[b].losses for b in names}, names[0], group),
            ]
    cross = _cross_groups(spec, stepped, members)
    return CellParity(spec.cell, counts, expected, tuple(checks), cross, note)


def _group_members(arrays: Mapping[str, CellArrays], groups: Mapping[str, str | None]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for b in arrays:
        members.setdefault(groups.get(b) or "-", []).append(b)
    return members


def _cross_groups(spec: Spec, stepped: Mapping[str, CellArrays], members: Mapping[str, list[str]]):
    """Each further group's reference against the first group's (see CrossGroup)."""
    refs = [(g, next(b for b in names if b in stepped)) for g, names in members.items() if set(names) & set(stepped)]
    if len(refs) < 2:
        return ()
    (group0, ref0), out = refs[0], []
    a = stepped[ref0]
    steps = len(a.losses)
    x1 = parity_batches(spec, 1 + steps, spec.seed)[1][0]
    ids, occurrences = np.unique(x1, return_counts=True)
    repeated = np.zeros(spec.vocab_size, dtype=bool)
    repeated[ids[occurrences > 1]] = True
    for group, ref in refs[1:]:
        b = stepped[ref]
        emb = np.abs(np.asarray(a.first["embedding"], np.float64) - np.asarray(b.first["embedding"], np.float64))
        others = [d for t, d in _tensor_deltas(a.first, b.first).items() if t != "embedding"]
        rest = max([float(emb[~repeated].max(initial=0.0)), *others])
        out.append(
            CrossGroup(
                (group0, group),
                (ref0, ref),
                a.step_dtype,
                steps,
                float(emb[repeated].max(initial=0.0)),
                rest,
                max(_tensor_deltas(a.final, b.final).values()),
                _max_abs(a.losses, b.losses),
                tolerance("parameters", a.step_dtype).limit,
            )
        )
    return tuple(out)


def check_cell(backends: Mapping[str, Backend], spec: Spec, steps: int, dtype: str | None = None) -> CellParity:
    """All checks for ``spec.cell`` on backends already open in this process (tests; ``bench parity`` runs
    each backend in a process of its own instead)."""
    no_float64 = {name: type(b).no_float64 for name, b in backends.items() if type(b).no_float64}
    plan = plan_cell(spec.cell, dtype, steps, no_float64)
    arrays = {name: collect_cell(b, spec, plan, name) for name, b in backends.items()}
    groups = {name: b.group_for(b.options.extra) for name, b in backends.items()}
    return compare_cell(spec, arrays, groups)


# -- running -----------------------------------------------------------------------------------------
def expand_backends(names: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """``all`` -> every built-in engine in both groups, less those whose packages are missing (returned with
    the reason); other names are kept as given."""
    chosen: list[str] = []
    skipped: dict[str, str] = {}
    for name in names:
        if name != "all":
            chosen.append(name)
            continue
        for label in ALL_BACKENDS:
            missing = missing_package(parse_backend(label).backend_class())
            if missing:
                skipped[label] = f"package {missing[1]!r} not installed"
            else:
                chosen.append(label)
    return list(dict.fromkeys(chosen)), skipped


def run_parity(
    spec: Spec,
    *,
    cells: Iterable[str] = CELLS,
    backends: Sequence[str] = DEFAULT_BACKENDS,
    steps: int = DEFAULT_STEPS,
    dtype: str | None = None,
    threads: int = 1,
    jobs: int = 1,
    device: str = "cpu",
) -> ParityReport:
    """Run every check for every cell, each backend in a fresh process (``jobs`` at a time). ``dtype=None``
    is auto (see ``multi_step_plan``). ``backends`` may hold variants (``torch:optimizer_semantics=dense``)
    and ``all``. ``device``: ``--device`` for every backend (harness.devices)."""
    from .parity_worker import run_workers

    if dtype is not None and dtype not in DTYPES:
        raise BenchError(f"unknown dtype {dtype!r}; valid dtypes: {', '.join(DTYPES)}")
    if steps < 0:
        raise BenchError(f"--steps must be >= 0, got {steps}")
    cells = tuple(cells)
    for cell in cells:
        if cell not in CELLS:
            raise BenchError(f"unknown cell {cell!r}; valid cells: {', '.join(CELLS)}")
    require_gpu(device)
    labels, skipped = expand_backends(backends)
    # Unknown names, bad options, missing packages, a CPU-only engine for --device gpu: before any process.
    refs = resolve_backends(labels, device)
    labels = [ref.label for ref in refs]
    if len(labels) < 2:
        raise BenchError(f"parity needs at least two backends, got {', '.join(labels) or 'none'}")
    groups = {ref.label: ref.backend_class().group_for(ref.options) for ref in refs}
    no_float64 = {ref.label: ref.backend_class().no_float64 for ref in refs if ref.backend_class().no_float64}
    plans = {cell: plan_cell(cell, dtype, steps, no_float64) for cell in cells}
    results = run_workers(labels, spec, plans, threads, jobs, device)
    parity = tuple(
        compare_cell(spec.replace(cell=cell), {b: results[b].cells[cell] for b in labels}, groups, plans[cell].note)
        for cell in cells
    )
    runtime = {b: results[b].runtime for b in labels}
    return ParityReport(tuple(labels), groups, spec, steps, dtype, threads, parity, runtime, skipped, device)
