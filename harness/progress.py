"""Progress display for ``bench run``: a live view on a terminal, plain lines elsewhere (CI, --quiet).

The runner calls the same methods on either, whichever executor runs the jobs; several jobs may run at
once (``--parallel``, a Dask cluster), so every call names its job. Neither knows anything about frameworks.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol

from rich.console import Console
from rich.live import Live
from rich.text import Text


class Progress(Protocol):
    def job_started(self, k: int, total: int, label: str, host: str | None = None) -> None: ...
    def event(self, label: str, event: dict[str, Any]) -> None: ...
    def message(self, text: str) -> None: ...
    def job_finished(self, label: str, status: str, summary: str) -> None: ...
    def close(self) -> None: ...


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "--:--"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class _JobClock:
    """Tracks where a job is, for the ETA: steps done vs steps in the whole job."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.started = time.monotonic()
        self.steps_per_epoch = self.epochs = 0
        self.epoch = self.step = 0
        self.loss = self.acc = None
        self.first_step_at: float | None = None

    def update(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "ready":
            self.steps_per_epoch, self.epochs = event["steps_per_epoch"], event["epochs"]
            self.first_step_at = time.monotonic()
        elif kind == "step":
            self.epoch, self.step = event["epoch"], event["step"]
            self.loss, self.acc = event["loss"], event["acc"]
        elif kind == "epoch":
            self.epoch, self.step = event["epoch"], self.steps_per_epoch

    def eta(self) -> float | None:
        total = self.steps_per_epoch * self.epochs
        done = (self.epoch - 1) * self.steps_per_epoch + self.step if self.epoch else 0
        if not total or not done or self.first_step_at is None:
            return None
        rate = (time.monotonic() - self.first_step_at) / done
        return rate * (total - done)


class LiveProgress:
    """One live status line per running job under the finished jobs' summary lines (rich)."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.running: dict[str, tuple[int, _JobClock, str]] = {}  # label -> (job number, clock, ' on HOST' or '')
        self.total = 0
        self.live = Live(Text(""), console=self.console, refresh_per_second=4, transient=True)
        self.live.start()

    def _render(self) -> Text:
        lines = []
        for label, (k, c, on_host) in self.running.items():
            position = f"epoch {c.epoch}/{c.epochs} step {c.step}/{c.steps_per_epoch}" if c.epochs else "starting"
            metrics = f" loss {c.loss:.4f} acc {c.acc:.3f}" if c.loss is not None else ""
            lines.append(f"job {k}/{self.total} {label}{on_host}: {position}{metrics}  ETA job {_fmt_eta(c.eta())}")
        return Text("\n".join(lines), style="cyan")

    def job_started(self, k: int, total: int, label: str, host: str | None = None) -> None:
        self.total = total
        self.running[label] = (k, _JobClock(), f" on {host}" if host else "")
        self.live.update(self._render())

    def event(self, label: str, event: dict[str, Any]) -> None:
        if label in self.running:
            self.running[label][1].update(event)
        if event.get("event") == "epoch":
            self.console.print(_epoch_line(label, event), style="dim")
        self.live.update(self._render())

    def message(self, text: str) -> None:
        self.console.print(text, style="yellow")

    def job_finished(self, label: str, status: str, summary: str) -> None:
        self.running.pop(label, None)
        self.console.print(f"[{'green' if status == 'ok' else 'red'}]{status:>11}[/] {label}: {summary}")
        self.live.update(self._render())

    def close(self) -> None:
        self.live.stop()


class LineProgress:
    """One line per epoch and per job: for CI logs, pipes and --quiet."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def job_started(self, k: int, total: int, label: str, host: str | None = None) -> None:
        self._print(f"job {k}/{total} {label}: started" + (f" on {host}" if host else ""))

    def event(self, label: str, event: dict[str, Any]) -> None:
        if event.get("event") == "epoch":
            self._print(_epoch_line(label, event))

    def message(self, text: str) -> None:
        self._print(text)

    def job_finished(self, label: str, status: str, summary: str) -> None:
        self._print(f"{status:>11} {label}: {summary}")

    def close(self) -> None:
        pass


def _epoch_line(label: str, e: dict[str, Any]) -> str:
    loss = "nan" if e.get("train_loss") is None else f"{e['train_loss']:.4f}"
    return (
        f"  {label} epoch {e['epoch']}: loss {loss} acc {e['train_acc']:.4f} "
        f"val_acc {e['val_acc']:.4f} train {e['train_s']:.1f}s eval {e['eval_s']:.1f}s"
    )


def make_progress(quiet: bool) -> Progress:
    if quiet or not sys.stderr.isatty():
        return LineProgress()
    return LiveProgress()
