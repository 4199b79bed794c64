"""Which device a job trains on: the request (``--device cpu|gpu|auto``), the cheap check that a GPU is there
at all, the GPU facts ``nvidia-smi`` gives, and the device's kind for comparisons.

Framework-free: the runner and ``bench parity`` call ``require_gpu`` before any data is prepared, and it only
looks at ``nvidia-smi -L`` (or, without it, the NVIDIA driver's ``/proc`` entries). Whether an *engine*
sees the GPU is the engine's business: its framework decides in the worker (``backends.device``), and a
framework without CUDA fails that job with a one-line reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from .errors import BenchError

#: ``--device``: ``cpu`` (the default: what every run did before GPUs), ``gpu`` (fail when none is there),
#: ``auto`` (each engine uses a GPU when its framework sees one, else the CPU).
DeviceRequest = Literal["cpu", "gpu", "auto"]
DEVICE_REQUESTS: tuple[str, ...] = get_args(DeviceRequest)
#: Where the NVIDIA driver lists its GPUs when ``nvidia-smi`` is not installed.
PROC_GPUS = Path("/proc/driver/nvidia/gpus")
_SMI_TIMEOUT_S = 20
_GPU_LINE = re.compile(r"^GPU (\d+): (.+?)(?: \(UUID: ([^)]+)\))?$")


def check_request(device: str) -> str:
    if device not in DEVICE_REQUESTS:
        raise BenchError(f"unknown device {device!r}; valid devices: {', '.join(DEVICE_REQUESTS)}")
    return device


def _hidden_by_environment(env: Mapping[str, str]) -> bool:
    """CUDA_VISIBLE_DEVICES set to nothing (or -1) hides every GPU from every framework."""
    value = env.get("CUDA_VISIBLE_DEVICES")
    return value is not None and value.strip() in ("", "-1")


def _smi(args: list[str]) -> str | None:
    """stdout of ``nvidia-smi ARGS``; None when it is missing or fails (no driver, no GPU)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=_SMI_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def visible_gpus(env: Mapping[str, str] | None = None) -> list[str]:
    """Names of the NVIDIA GPUs this machine shows (``nvidia-smi -L``, else the driver's /proc entries);
    empty when there are none, or when ``CUDA_VISIBLE_DEVICES`` hides them all."""
    env = os.environ if env is None else env
    if _hidden_by_environment(env):
        return []
    listing = _smi(["-L"])
    if listing is not None:
        return [m[2] for line in listing.splitlines() if (m := _GPU_LINE.match(line.strip()))]
    if shutil.which("nvidia-smi") is None and PROC_GPUS.is_dir():
        return [_proc_model(p) for p in sorted(PROC_GPUS.iterdir())]
    return []


def _proc_model(folder: Path) -> str:
    try:
        for line in (folder / "information").read_text().splitlines():
            if line.startswith("Model:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return folder.name


def require_gpu(device: str, env: Mapping[str, str] | None = None) -> None:
    """For ``--device gpu``: a one-line BenchError (exit 2) when this machine shows no NVIDIA GPU. Called
    before any data is prepared or any worker starts; ``cpu`` and ``auto`` pass."""
    if check_request(device) != "gpu" or visible_gpus(env):
        return
    env = os.environ if env is None else env
    if _hidden_by_environment(env):
        why = f"CUDA_VISIBLE_DEVICES={env.get('CUDA_VISIBLE_DEVICES')!r} hides every GPU"
    elif shutil.which("nvidia-smi"):
        why = "nvidia-smi -L lists none"
    else:
        why = f"no nvidia-smi and no {PROC_GPUS}"
    raise BenchError(
        f"--device gpu, but no NVIDIA GPU is visible here ({why}); run on a GPU machine or use --device cpu"
    )


#: nvidia-smi --query-gpu fields -> GpuInfo fields.
_SMI_FIELDS = {
    "name": "name",
    "driver_version": "driver",
    "compute_cap": "compute_capability",
    "memory.total": "memory_mb",
}


def smi_gpu_facts(index: int = 0, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What ``nvidia-smi`` says about the GPU a job used (CUDA's device ``index`` among the visible ones):
    name, driver, compute capability, memory (MiB). Empty when nvidia-smi is missing or fails."""
    env = os.environ if env is None else env
    visible = [v.strip() for v in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    which = visible[index] if index < len(visible) else str(index)
    out = _smi(["--query-gpu=" + ",".join(_SMI_FIELDS), "--format=csv,noheader,nounits", "-i", which])
    if not out or not out.strip():
        return {}
    values = [v.strip() for v in out.strip().splitlines()[0].split(",")]
    facts: dict[str, Any] = {}
    for (_, key), value in zip(_SMI_FIELDS.items(), values):
        if value and not value.startswith("[") and value != "N/A":  # "[N/A]", "[Not Supported]"
            facts[key] = value
    if "memory_mb" in facts:
        try:
            facts["memory_mb"] = float(facts["memory_mb"])
        except ValueError:
            del facts["memory_mb"]
    return facts


def cuda_index(device: str | None) -> int | None:
    """The CUDA device index of a resolved device ("cuda:0" -> 0); None for the CPU or an unknown form."""
    match = re.fullmatch(r"(?:cuda|gpu)(?::(\d+))?", device or "")
    return None if match is None else int(match[1] or 0)


def device_kind(device: Any) -> str:
    """ "gpu" or "cpu": the kind of a resolved device as records hold it ("cuda:0", "gpu", "cpu"). Records
    from before devices were recorded (no ``runtime.device``) ran on the CPU."""
    return "gpu" if cuda_index(str(device) if device is not None else None) is not None else "cpu"
