"""The plan: what one ``bench run`` trains (its configuration) and the order of its jobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .executors.base import ExecutorConfig
from .jobs import Job
from .spec import Spec


@dataclass(frozen=True)
class RunConfig:
    spec: Spec
    backends: tuple[str, ...]
    cells: tuple[str, ...]
    seeds: tuple[int, ...]
    mode: str
    data: str | None
    threads: int
    target_acc: float
    results: Path
    name: str | None = None
    train_limit: int | None = None
    test_limit: int | None = None
    timeout_s: float | None = None
    command: str = "bench run"
    backend_extra: dict[str, Any] = field(default_factory=dict)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    device: str = "cpu"  # --device: cpu | gpu | auto (harness.devices)


def plan(backends: Sequence[str], cells: Sequence[str], seeds: Sequence[int], mode: str) -> list[Job]:
    """Cell-major order, so the two backends of one cell run back to back under the most similar
    machine conditions."""
    return [Job(b, c, s, mode) for c in cells for s in seeds for b in backends]
