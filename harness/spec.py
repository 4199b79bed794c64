"""The common model/training spec: the single source of truth every backend builds from.

Defaults are those of the classic Keras IMDB notebooks (Embedding(10000, 32) -> LSTM(32) -> Dense(1,
sigmoid); RMSprop; binary cross-entropy; batch 128; 10 epochs; validation_split 0.2; sequences padded
to 500 tokens), so results can be set beside them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import BenchError

CELLS: tuple[str, ...] = ("simplernn", "lstm", "gru")
#: Gates fused in one kernel per cell (Keras' layout): SimpleRNN 1, LSTM 4 (i, f, c, o), GRU 3 (z, r, h).
GATES: dict[str, int] = {"simplernn": 1, "lstm": 4, "gru": 3}
OPTIMIZERS: tuple[str, ...] = ("rmsprop",)
LOSSES: tuple[str, ...] = ("binary_crossentropy",)
#: Fields that differ between the jobs of one matrix by design; everything else must match to compare.
PER_JOB_FIELDS: tuple[str, ...] = ("cell", "seed")


@dataclass(frozen=True)
class Spec:
    """One model + training configuration. Frozen and validated on construction."""

    vocab_size: int = 10000  # keras imdb num_words: ids >= vocab_size become the OOV id 2
    embed_dim: int = 32
    units: int = 32
    maxlen: int = 500  # pad/truncate "pre" to this length, as keras pad_sequences
    cell: str = "lstm"
    batch_size: int = 128
    epochs: int = 10
    optimizer: str = "rmsprop"
    learning_rate: float = 1e-3  # keras RMSprop defaults: lr 1e-3, rho 0.9, epsilon 1e-7
    rho: float = 0.9
    epsilon: float = 1e-7
    loss: str = "binary_crossentropy"
    validation_split: float = 0.2  # the last 20% of the training arrays, as keras fit()
    seed: int = 0

    def __post_init__(self) -> None:
        problems = list(_problems(self))
        if problems:
            raise BenchError("invalid spec: " + "; ".join(problems))

    # -- derived -----------------------------------------------------------------------------
    @property
    def gates(self) -> int:
        return GATES[self.cell]

    def replace(self, **changes: Any) -> Spec:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def to_toml(self) -> str:
        lines = []
        for key, value in self.to_dict().items():
            lines.append(f"{key} = {json.dumps(value) if isinstance(value, str) else repr(value)}")
        return "\n".join(lines) + "\n"

    @property
    def spec_hash(self) -> str:
        """First 16 hex digits of SHA-256 over the canonical JSON: changes when any field changes."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: Spec | None = None) -> Spec:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise BenchError(f"unknown spec field(s): {', '.join(unknown)}; valid fields: {', '.join(known)}")
        values = (base or cls()).to_dict()
        for key, value in data.items():
            values[key] = _coerce(key, known[key].type, value)
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> Spec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise BenchError(f"spec JSON is not valid JSON ({err}); fix the file") from None
        if not isinstance(data, dict):
            raise BenchError("spec JSON must be an object of field: value pairs")
        return cls.from_dict(data)

    @classmethod
    def from_toml(cls, text: str, base: Spec | None = None) -> Spec:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise BenchError(f"config is not valid TOML ({err}); fix the file") from None
        # Accept both a flat file and one with a [spec] table.
        if "spec" in data and isinstance(data["spec"], dict):
            data = data["spec"]
        return cls.from_dict(data, base=base)

    @classmethod
    def from_toml_file(cls, path: str | Path, base: Spec | None = None) -> Spec:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BenchError(f"config file not found: {p}; pass an existing .toml file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise BenchError(f"cannot read config file {p}: {err}") from None
        return cls.from_toml(text, base=base)


def shared_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A spec dict without the per-job fields (cell, seed): equal for every job of a comparable matrix."""
    return {k: v for k, v in spec.items() if k not in PER_JOB_FIELDS}


def _coerce(key: str, annotation: Any, value: Any) -> Any:
    kind = {"int": int, "float": float, "str": str}.get(str(annotation), None)
    if kind is None or isinstance(value, kind) and not isinstance(value, bool):
        return value
    try:
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        if isinstance(value, bool):
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        raise BenchError(f"spec field {key} must be {kind.__name__}, got {value!r}") from None


def _problems(s: Spec):
    for name, minimum in (
        ("vocab_size", 4),  # ids 0..3 are reserved: padding, start, OOV, unused
        ("embed_dim", 1),
        ("units", 1),
        ("maxlen", 1),
        ("batch_size", 1),
        ("epochs", 1),
    ):
        value = getattr(s, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            why = " (ids 0-3 are reserved for padding, start, OOV and unused)" if name == "vocab_size" else ""
            yield f"{name} must be an integer >= {minimum}{why}, got {value!r}"
    if not isinstance(s.seed, int) or isinstance(s.seed, bool) or s.seed < 0:
        yield f"seed must be an integer >= 0, got {s.seed!r}"
    if s.cell not in CELLS:
        yield f"unknown cell {s.cell!r}; valid cells: {', '.join(CELLS)}"
    if s.optimizer not in OPTIMIZERS:
        yield f"unknown optimizer {s.optimizer!r}; valid: {', '.join(OPTIMIZERS)}"
    if s.loss not in LOSSES:
        yield f"unknown loss {s.loss!r}; valid: {', '.join(LOSSES)}"
    for name in ("learning_rate", "epsilon"):
        value = getattr(s, name)
        if not _finite(value) or value <= 0:
            yield f"{name} must be a positive number, got {value!r}"
    if not _finite(s.rho) or not 0 <= s.rho < 1:
        yield f"rho must be in [0, 1), got {s.rho!r}"
    if not _finite(s.validation_split) or not 0 < s.validation_split < 1:
        yield f"validation_split must be strictly between 0 and 1, got {s.validation_split!r}"


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
