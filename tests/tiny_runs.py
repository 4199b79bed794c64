"""Tiny runs for tests: their spec and data (as a RunConfig and as ``bench run`` options), ``bench`` in a
process of its own (for tests that send it real signals), and a look for worker processes it left behind."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from harness.plan import RunConfig
from harness.spec import Spec

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = Path(__file__).resolve().parent / "plugins"
SPEC = Spec(vocab_size=60, embed_dim=4, units=4, maxlen=16, batch_size=32, epochs=2)
DATA = "synthetic:train=200,test=64,seed=3"
#: The same as ``bench run`` options (the epochs left to each test).
TINY = ["--data", DATA, "--threads", "1"]
for _field in ("maxlen", "vocab_size", "embed_dim", "units", "batch_size"):
    TINY += ["--" + _field.replace("_", "-"), str(getattr(SPEC, _field))]


def tiny_config(results: Path, **changes) -> RunConfig:
    """Two framework-free backends (tests/plugins) x two cells, one seed, one thread."""
    base = dict(
        spec=SPEC,
        backends=("numpy-fake", "numpy-twin"),
        cells=("lstm", "gru"),
        seeds=(0,),
        mode="matched",
        data=DATA,
        threads=1,
        target_acc=0.6,
        results=results,
        name="t",
    )
    base.update(changes)
    return RunConfig(**base)


def _default_signals() -> None:
    # A test session started with SIGHUP or SIGINT ignored (nohup, a background job) passes that on.
    for sig in (signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)


class BenchProcess:
    def __init__(self, args: list[str], extra: dict | None = None):
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(PLUGINS), str(ROOT)]),
            "RNN_BENCH_TEST_EXTRA": json.dumps(extra or {}),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_default_signals,
        )
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._new.put(line)
        self._new.put(None)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        """Until a line containing ``text`` has been printed."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            left = deadline - time.monotonic()
            if left <= 0 or self._new.get(timeout=left) is None:
                raise AssertionError(f"no line with {text!r} in time; output:\n" + "\n".join(self.lines))

    def finish(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout=timeout)
        while self._new.get(timeout=10) is not None:
            pass
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def worker_processes(marker: str) -> list[psutil.Process]:
    """Live ``harness.worker`` processes whose command line contains ``marker`` (e.g. a run folder)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "harness.worker" in cmdline and marker in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def wait_until_gone(marker: str, timeout: float = 15) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while (left := worker_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left
