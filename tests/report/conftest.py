from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.report.scenarios import FIXTURES


@pytest.fixture
def runs(tmp_path: Path) -> Callable[..., list[Path]]:
    """Copies of committed fixture runs under tmp_path/results (reports never write into the repo)."""

    def copy(*names: str) -> list[Path]:
        out = []
        for name in names:
            target = tmp_path / "results" / name
            if not target.exists():
                shutil.copytree(FIXTURES / name, target)
            out.append(target)
        return out

    return copy


@pytest.fixture
def bench(monkeypatch) -> Callable[..., Result]:
    """Invoke the real ``bench`` group in-process; stdout and stderr are kept apart."""
    from harness.cli import cli

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke
