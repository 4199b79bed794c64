"""The device an engine trains on, resolved from ``--device`` by what its framework sees, and the GPU
settings that follow from it; framework-free (each engine passes in what its framework says).

- ``cpu``: the CPU, exactly as before GPUs existed here: no GPU setting is touched.
- ``gpu``: the first GPU the framework sees (``cuda:0``); a one-line BenchError when it sees none, saying
  why (e.g. a CPU build of the framework).
- ``auto``: the first GPU when the framework sees one, else the CPU.

On a GPU, matched mode turns TensorFloat-32 off (cuBLAS and cuDNN may otherwise round float32 matmuls to
10-bit mantissas on Ampere and later); native mode keeps each framework's own default.
"""

from __future__ import annotations

from harness.errors import BenchError

CPU = "cpu"
#: One GPU per job: the first the framework sees (CUDA_VISIBLE_DEVICES chooses which).
GPU = "cuda:0"
#: cuBLAS's workspace for reproducible results (torch's use_deterministic_algorithms needs it set before
#: cuBLAS starts; see docs/gpu.md).
CUBLAS_WORKSPACE = ":4096:8"
#: XLA's flag for run-to-run determinism on GPUs (JAX; read when XLA's GPU client starts).
XLA_GPU_DETERMINISTIC = "--xla_gpu_deterministic_ops=true"


def resolve_device(request: str, sees_gpu: bool, backend: str, why_not: str) -> str:
    """The device a backend trains on: ``cpu`` or ``cuda:0``. ``why_not`` says why the framework sees no GPU
    (named in the error for ``gpu``)."""
    if request == "cpu" or (request == "auto" and not sees_gpu):
        return CPU
    if sees_gpu:
        return GPU
    raise BenchError(
        f"--device gpu, but backend {backend!r} sees no GPU ({why_not}); install its CUDA build (docs/gpu.md) "
        "or use --device cpu or auto"
    )


def on_gpu(device: str) -> bool:
    return device != CPU


def matched_tf32(mode: str) -> bool | None:
    """TF32 for a mode: off in matched mode (every engine computes float32 in float32); None in native mode
    (leave the framework's default)."""
    return False if mode == "matched" else None


def version_text(number: int | None, scheme: str) -> str | None:
    """A version the CUDA libraries report as one integer, as text: ``cuda`` 12040 -> "12.4", ``cudnn``
    90100 -> "9.1.0" (cuDNN 9: major*10000 + minor*100 + patch; cuDNN 8: major*1000 + minor*100 + patch)."""
    if not number:
        return None
    if scheme == "cuda":
        return f"{number // 1000}.{number % 1000 // 10}"
    major = number // 10000 if number >= 90000 else number // 1000
    rest = number - major * (10000 if number >= 90000 else 1000)
    return f"{major}.{rest // 100}.{rest % 100}"
