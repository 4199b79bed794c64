"""Executors: how jobs reach worker processes, behind one interface (``base.Executor``).

- ``local`` (default): one job at a time, each in a fresh process on this machine (``local.py``).
- ``dask``: a task per job on a Dask distributed cluster, or on a LocalCluster for ``--parallel``
  (``dask_executor.py`` on the client, ``dask_task.py`` on the workers).
"""

from __future__ import annotations

from harness.errors import BenchError

from .base import Executor, ExecutorConfig
from .local import LocalExecutor


def make_executor(config: ExecutorConfig, threads: int) -> Executor:
    """The executor ``config`` asks for; ``threads`` per job (``--parallel`` gives each job that many cores)."""
    if config.kind == "local":
        return LocalExecutor()
    if config.kind == "dask":
        from .dask_executor import DaskExecutor  # distributed takes seconds to import: only when chosen

        return DaskExecutor(config, threads)
    raise BenchError(f"unknown executor {config.kind!r}; valid executors: local, dask")
