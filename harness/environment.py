"""What a result needs to be reproducible and trusted: machine, software, commit, and machine load.

Framework versions come from the backend (``runtime_info``); this module never imports a framework.
"""

from __future__ import annotations

import os
import platform
import resource
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: A job is flagged "busy" when other processes used more than this share of the machine's CPU while
#: it was sampled. On 2 cores, 0.2 is 40% of one core: enough to deschedule a framework thread and
#: inflate step times (an OpenMP pool of 2 threads stalled for seconds when another process held a core).
BUSY_OTHER_CPU = 0.2
_SAMPLE_S = 0.5


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def core_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def git_info(root: str | Path | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout holding this package; (None, None) outside a git checkout."""
    where = Path(root) if root else Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        return commit, bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def environment(threads: int, frameworks: dict[str, str], command: Sequence[str] | str) -> dict[str, Any]:
    commit, dirty = git_info()
    return {
        "python": platform.python_version(),
        "frameworks": dict(frameworks),
        "cpu_model": cpu_model(),
        "cores": core_count(),
        "threads": threads,
        "os": platform.platform(),
        "hostname": socket.gethostname(),
        "git_commit": commit,
        "git_dirty": dirty,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command if isinstance(command, str) else shlex.join(command),
        "libc": " ".join(platform.libc_ver()).strip(),
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
    }


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [float(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
    return sum(values) - idle, sum(values)


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def sample_load(window_s: float = _SAMPLE_S) -> dict[str, Any]:
    """Load average and the share of the machine's CPU that *other* processes used over ``window_s``
    (this process idles meanwhile, and its own CPU time is subtracted)."""
    loadavg = list(os.getloadavg()) if hasattr(os, "getloadavg") else []
    before, own_before = _cpu_times(), _own_cpu_s()
    time.sleep(window_s)
    after, own_after = _cpu_times(), _own_cpu_s()
    other = None
    if before and after and after[1] > before[1]:
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        busy = (after[0] - before[0]) / ticks - (own_after - own_before)
        total = (after[1] - before[1]) / ticks
        other = max(0.0, min(1.0, busy / total))
    return {"loadavg": [round(x, 3) for x in loadavg], "other_cpu": None if other is None else round(other, 4)}


def is_busy(*samples: dict[str, Any] | None) -> bool:
    return any(s and s.get("other_cpu") is not None and s["other_cpu"] > BUSY_OTHER_CPU for s in samples)


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports ru_maxrss in KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024.0 if sys.platform != "darwin" else kib / (1024.0 * 1024.0)


#: glibc malloc settings every worker starts with: the mmap and trim thresholds fixed at the values glibc's
#: own adaptive rule ends at (it raises the mmap threshold to the size of each freed mmapped chunk, up to
#: 32 MiB on 64-bit, and sets the trim threshold to twice that). Left adaptive, a step's cost depended on
#: what the process had freed before training: a worker that had not freed a large enough chunk handed
#: the step's tensors back to the kernel after every step and faulted them in again (README, "`bench run`
#: against the same plain code", has the page-fault counts).
MALLOC_TUNABLES = {"glibc.malloc.mmap_threshold": str(32 << 20), "glibc.malloc.trim_threshold": str(64 << 20)}


def allocator_env(current: str | None) -> dict[str, str]:
    """``GLIBC_TUNABLES`` for a worker, given the value in the caller's environment (or None). A tunable
    the user set wins; ours fill in the rest. Read by glibc at process start; ignored by other C libraries."""
    ours = {**MALLOC_TUNABLES}
    user = [item for item in (current or "").split(":") if item]
    for item in user:
        ours.pop(item.split("=", 1)[0], None)
    return {"GLIBC_TUNABLES": ":".join(user + [f"{k}={v}" for k, v in ours.items()])}


def worker_env(threads: int, current: dict[str, str] | None = None) -> dict[str, str]:
    """The variables a worker process starts with on top of the caller's: pinned thread pools and a fixed
    allocator state (``allocator_env``), so that nothing before training changes a step's cost."""
    base = os.environ if current is None else current
    return {**thread_env(threads), **allocator_env(base.get("GLIBC_TUNABLES"))}


def thread_env(threads: int) -> dict[str, str]:
    """Environment that pins every native thread pool before a framework starts in a fresh process."""
    n = str(threads)
    return {
        "OMP_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "TF_NUM_INTRAOP_THREADS": n,
        "TF_NUM_INTEROP_THREADS": n,
        "TF_CPP_MIN_LOG_LEVEL": "2",  # keep TF's start-up chatter out of job logs
    }
