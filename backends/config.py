"""Shared helper for the per-backend config dataclasses read from ``BackendOptions.extra``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from harness.errors import BenchError

C = TypeVar("C")


def config_from_extra(cls: type[C], extra: Mapping[str, Any], backend: str) -> C:
    """Build a frozen config dataclass from ``extra``; unknown keys are a one-line error."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(extra) - set(names))
    if unknown:
        raise BenchError(
            f"unknown option(s) for backend {backend!r}: {', '.join(unknown)}; valid: {', '.join(names) or 'none'}"
        )
    return cls(**dict(extra))
