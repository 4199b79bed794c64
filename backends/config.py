"""Per-backend config dataclasses: filled from ``BackendOptions.extra`` and checked against their fields'
types, so that a typo or a wrong value is a one-line error in the command-line process, before any job."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from harness.errors import BenchError

C = TypeVar("C")


def config_from_extra(cls: type[C], extra: Mapping[str, Any], backend: str) -> C:
    """Build a frozen config dataclass from ``extra``; unknown keys and mistyped values are one-line errors."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(extra) - set(names))
    if unknown:
        raise BenchError(
            f"unknown option(s) for backend {backend!r}: {', '.join(unknown)}; valid: {', '.join(names) or 'none'}"
        )
    hints = typing.get_type_hints(cls)
    for key, value in extra.items():
        if not _matches(value, hints[key]):
            raise BenchError(
                f"option {key}={value!r} for backend {backend!r} is not a valid {_describe(hints[key])}; "
                f"default: {_default(cls, key)!r}"
            )
    return cls(**dict(extra))


def parse_value(text: str) -> Any:
    """Command-line text -> the Python value a config field takes: true/false, int, float, else the text."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return any(value == choice and type(value) is type(choice) for choice in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return "choice (" + " | ".join(repr(a) for a in typing.get_args(hint)) + ")"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    return getattr(hint, "__name__", str(hint))


def _default(cls: type, key: str) -> Any:
    return next(f.default for f in dataclasses.fields(cls) if f.name == key)
