"""Canonical, framework-neutral initial weights, drawn with NumPy from the seed.

The canonical layout is Keras' own (so the Keras backend loads it as is and the PyTorch backend converts):

=================  ==========================  ===============================================
name               shape                       notes
=================  ==========================  ===============================================
``embedding``      (vocab_size, embed_dim)     row 0 (padding) is trained, as in Keras
``rnn_kernel``     (embed_dim, gates*units)    gates fused on the last axis: LSTM i,f,c,o; GRU z,r,h
``rnn_recurrent``  (units, gates*units)        same gate order
``rnn_bias``       (gates*units,) or (2, 3*units) for GRU (reset_after=True: row 0 input, row 1 recurrent)
``dense_kernel``   (units, 1)
``dense_bias``     (1,)
=================  ==========================  ===============================================

Initialisers follow Keras' defaults (checked against keras/src/initializers and layers/rnn):
embedding uniform(-0.05, 0.05); kernels glorot-uniform over the *fused* matrix; recurrent kernels
orthogonal over the fused (units, gates*units) matrix; zero biases; LSTM forget-gate block 1
(``unit_forget_bias``); dense kernel glorot-uniform, bias zero. The same seed cannot make two frameworks
draw the same numbers, so the harness draws once here and every backend loads the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from .errors import BenchError
from .spec import Spec

WEIGHT_NAMES: tuple[str, ...] = (
    "embedding",
    "rnn_kernel",
    "rnn_recurrent",
    "rnn_bias",
    "dense_kernel",
    "dense_bias",
)

Weights = dict[str, np.ndarray]


def expected_shapes(spec: Spec) -> dict[str, tuple[int, ...]]:
    g, u = spec.gates, spec.units
    bias = (2, g * u) if spec.cell == "gru" else (g * u,)
    return {
        "embedding": (spec.vocab_size, spec.embed_dim),
        "rnn_kernel": (spec.embed_dim, g * u),
        "rnn_recurrent": (u, g * u),
        "rnn_bias": bias,
        "dense_kernel": (u, 1),
        "dense_bias": (1,),
    }


def trainable_parameter_count(spec: Spec) -> int:
    """Keras' count: SimpleRNN 322,113; LSTM 328,353; GRU 326,369 at the IMDB spec."""
    return int(sum(np.prod(shape) for shape in expected_shapes(spec).values()))


def check_weights(spec: Spec, weights: Mapping[str, np.ndarray]) -> None:
    """Raise a one-line BenchError when names or shapes do not fit the spec."""
    shapes = expected_shapes(spec)
    missing = sorted(set(shapes) - set(weights))
    extra = sorted(set(weights) - set(shapes))
    if missing or extra:
        raise BenchError(
            f"weights do not fit the {spec.cell} spec: missing {missing or 'none'}, unexpected {extra or 'none'}"
        )
    for name, shape in shapes.items():
        got = tuple(np.shape(weights[name]))
        if got != shape:
            raise BenchError(
                f"weight {name!r} has shape {got}, the {spec.cell} spec needs {shape}; "
                "rebuild the weights for this spec (vocab_size/embed_dim/units/cell)"
            )


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    fan_in, fan_out = shape
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def orthogonal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Keras' Orthogonal(gain=1): QR of a normal matrix, signs fixed by diag(R); rows orthonormal when
    rows < cols (R @ R.T == I for the fused recurrent kernel)."""
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q


def initial_weights(spec: Spec, seed: int | None = None, dtype: str = "float32") -> Weights:
    """Keras-default initial weights for ``spec`` drawn from ``seed`` (default: ``spec.seed``).

    Each tensor gets its own child stream (SeedSequence.spawn), so changing one shape does not shift
    the values of the others."""
    seed = spec.seed if seed is None else seed
    names = WEIGHT_NAMES
    streams = dict(zip(names, (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(names)))))
    shapes = expected_shapes(spec)
    u = spec.units
    bias = np.zeros(shapes["rnn_bias"])
    if spec.cell == "lstm":
        bias[u : 2 * u] = 1.0  # unit_forget_bias=True
    weights = {
        "embedding": streams["embedding"].uniform(-0.05, 0.05, size=shapes["embedding"]),
        "rnn_kernel": glorot_uniform(streams["rnn_kernel"], shapes["rnn_kernel"]),
        "rnn_recurrent": orthogonal(streams["rnn_recurrent"], shapes["rnn_recurrent"]),
        "rnn_bias": bias,
        "dense_kernel": glorot_uniform(streams["dense_kernel"], shapes["dense_kernel"]),
        "dense_bias": np.zeros(shapes["dense_bias"]),
    }
    return {name: np.ascontiguousarray(w, dtype=dtype) for name, w in weights.items()}


def weights_difference(intended: Mapping[str, np.ndarray], built: Mapping[str, np.ndarray]) -> str | None:
    """Where ``built`` (what a backend holds, exported in the canonical layout) differs from ``intended``:
    one line naming each differing tensor and its max |Δ|, or None when every tensor is bit-identical."""
    problems = []
    for name in sorted(set(intended) | set(built)):
        if name not in built or name not in intended:
            problems.append(f"{name} {'missing' if name not in built else 'unexpected'}")
            continue
        a, b = np.asarray(intended[name]), np.asarray(built[name])
        if a.shape != b.shape or a.dtype != b.dtype:
            problems.append(f"{name} {b.dtype}{b.shape} instead of {a.dtype}{a.shape}")
        elif not np.array_equal(a, b):
            delta = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
            problems.append(f"{name} max |Δ| {delta:.3g}")
    return ", ".join(problems) or None


def weights_fingerprint(weights: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes: proves two jobs started from the same weights."""
    h = hashlib.sha256()
    for name in sorted(weights):
        arr = np.ascontiguousarray(weights[name])
        h.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()
