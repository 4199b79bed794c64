"""pytest-benchmark micro-benchmarks of one real training step per backend x cell.

Run them with ``pytest tests/benchmarks --benchmark-only``; the regular test command skips them (timing
belongs in benchmark runs, not in the pass/fail suite)."""

from __future__ import annotations

import platform

import pytest

THREADS = 1  # one thread: stable on a shared 2-core machine, and the same for both frameworks


def pytest_collection_modifyitems(config, items):
    if config.getoption("benchmark_only", default=False):
        return
    skip = pytest.mark.skip(reason="benchmark: run with pytest tests/benchmarks --benchmark-only")
    for item in items:
        if "tests/benchmarks/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)


def pytest_benchmark_update_machine_info(config, machine_info):
    """Framework versions and threads beside pytest-benchmark's own machine info."""
    from importlib import metadata

    from harness.environment import core_count, cpu_model

    versions = {}
    for package in ("tensorflow-cpu", "keras", "torch", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    machine_info.update(
        frameworks=versions,
        threads=THREADS,
        cpu_model=cpu_model(),
        cores=core_count(),
        python_build=platform.python_build()[0],
    )
