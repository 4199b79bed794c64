from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = Path(__file__).resolve().parent / "plugins"


@pytest.fixture(autouse=True)
def user_cache(tmp_path_factory, monkeypatch):
    """Every test gets a user cache of this session's own: no test reads or fills the real one, or holds
    (or waits for) the real machine's timing lock."""
    folder = tmp_path_factory.getbasetemp() / "user-cache"
    monkeypatch.setenv("BENCH_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def test_backends(monkeypatch):
    """Make the test-only backends (tests/plugins) visible through the entry-point group, in this process
    and in the worker processes the runner starts."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    path = os.pathsep.join([str(PLUGINS), str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    monkeypatch.setenv("PYTHONPATH", path)
    return PLUGINS
