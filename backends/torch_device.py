"""The device side of the engines that run on PyTorch (``torch``, ``torch-compile``, ``keras-torch``): which
device torch sees, determinism and TF32 on CUDA, device memory, the GPU's facts, and which RNN kernel ran
(read from the autograd graph). Every function takes the imported ``torch`` module: importing this module
imports no framework.
"""

from __future__ import annotations

import os
from typing import Any

from .device import CUBLAS_WORKSPACE, on_gpu, resolve_device, version_text

_MIB = float(1 << 20)


def prepare_env(request: str, deterministic: bool) -> None:
    """Before torch starts CUDA: cuBLAS reads its workspace setting when it creates its handle, and
    ``use_deterministic_algorithms`` refuses cuBLAS work without a reproducible one. A value the user set
    wins. Nothing changes for ``--device cpu``."""
    if request != "cpu" and deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)


def resolve(torch: Any, request: str, backend: str) -> Any:
    """The ``torch.device`` to train on (``--device`` against what torch sees)."""
    sees = bool(torch.cuda.is_available())
    if torch.version.cuda is None:
        why = f"torch {torch.__version__} is a CPU build"
    else:
        why = f"torch {torch.__version__} (CUDA {torch.version.cuda}): torch.cuda.is_available() is False"
    return torch.device(resolve_device(request, sees, backend, why))


def set_deterministic(torch: Any, device: Any, deterministic: bool) -> None:
    """On CUDA, torch's deterministic algorithms (an op without one raises instead of running
    nondeterministically). The CPU kernels used here are deterministic without it, and stay untouched."""
    if on_gpu(str(device)) and deterministic:
        torch.use_deterministic_algorithms(True)


def deterministic(torch: Any, device: Any, requested: bool) -> bool:
    """What is in effect: on CUDA read back from torch; on the CPU the request (its kernels here are)."""
    return bool(torch.are_deterministic_algorithms_enabled()) if on_gpu(str(device)) else requested


def _new_tf32_api(torch: Any) -> bool:
    # torch >= 2.9 has per-backend fp32_precision and raises when it is mixed with the legacy allow_tf32.
    return hasattr(torch.backends.cuda.matmul, "fp32_precision")


def set_tf32(torch: Any, allowed: bool) -> None:
    """TF32 on or off for cuBLAS matmuls and cuDNN (RNN and convolution)."""
    backends = torch.backends
    if _new_tf32_api(torch):
        value = "tf32" if allowed else "ieee"
        backends.cuda.matmul.fp32_precision = value
        backends.cudnn.rnn.fp32_precision = value
        backends.cudnn.conv.fp32_precision = value
    else:
        backends.cuda.matmul.allow_tf32 = allowed
        backends.cudnn.allow_tf32 = allowed


def _precision(*levels: str) -> str:
    """The first setting that is not "none" (an op's own, then its parents')."""
    return next((level for level in levels if level != "none"), "none")


def tf32_in_effect(torch: Any) -> bool:
    """Whether cuBLAS matmuls or cuDNN RNNs may use TF32 as the settings stand. torch's defaults: matmuls in
    full float32 (since 1.12), cuDNN with TF32."""
    backends = torch.backends
    if not _new_tf32_api(torch):
        return bool(backends.cuda.matmul.allow_tf32 or backends.cudnn.allow_tf32)
    top = getattr(backends, "fp32_precision", "none")
    matmul = _precision(backends.cuda.matmul.fp32_precision, top)
    rnn = _precision(backends.cudnn.rnn.fp32_precision, backends.cudnn.fp32_precision, top)
    return matmul == "tf32" or rnn in ("tf32", "none")


def apply_precision(torch: Any, device: Any, allowed: bool | None) -> None:
    """On CUDA: TF32 as ``backends.device.matched_tf32`` says (None: the framework's default, untouched)."""
    if on_gpu(str(device)) and allowed is not None:
        set_tf32(torch, allowed)


def tf32(torch: Any, device: Any) -> bool | None:
    return tf32_in_effect(torch) if on_gpu(str(device)) else None


def reset_peak_memory(torch: Any, device: Any) -> None:
    # Before CUDA's first use there is nothing to reset (and the allocator would refuse): the peak then
    # counts from the first allocation.
    if on_gpu(str(device)) and torch.cuda.is_initialized():
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(torch: Any, device: Any) -> float | None:
    """Peak bytes torch's caching allocator handed out on the device (MiB), not what it reserved."""
    return torch.cuda.max_memory_allocated(device) / _MIB if on_gpu(str(device)) else None


def synchronize(torch: Any, device: Any) -> None:
    if on_gpu(str(device)):
        torch.cuda.synchronize(device)


def gpu_info(torch: Any, device: Any) -> dict[str, Any] | None:
    if not on_gpu(str(device)):
        return None
    props = torch.cuda.get_device_properties(device)
    return {
        "name": props.name,
        "compute_capability": f"{props.major}.{props.minor}",
        "memory_mb": props.total_memory / _MIB,
        "cuda": torch.version.cuda,
        "cudnn": version_text(torch.backends.cudnn.version(), "cudnn"),
    }


class TorchDeviceMethods:
    """The Backend device methods of an engine that holds the imported ``torch`` as ``self._torch`` and its
    ``torch.device`` as ``self._device`` (torch, torch-compile and keras-torch share them)."""

    _torch: Any
    _device: Any

    def reset_device_memory(self) -> None:
        reset_peak_memory(self._torch, self._device)

    def peak_device_memory_mb(self) -> float | None:
        return peak_memory_mb(self._torch, self._device)

    def gpu_info(self) -> dict[str, Any] | None:
        return gpu_info(self._torch, self._device)

    def synchronize(self) -> None:
        synchronize(self._torch, self._device)


def autograd_nodes(output: Any) -> set[str]:
    """The class names of every node in ``output``'s autograd graph: which kernels computed it (e.g.
    ``CudnnRnnBackward0``, ``MkldnnRnnLayerBackward0``)."""
    seen, names, stack = set(), set(), [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack.extend(next_fn for next_fn, _ in node.next_functions)
    return names


def used_cudnn(nodes: set[str]) -> bool:
    return any("Cudnn" in name for name in nodes)
