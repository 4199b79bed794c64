"""The allocator settings every worker starts with (harness.environment.allocator_env): how they merge with a
user's own GLIBC_TUNABLES, and that they stop the page-fault churn they are there for."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from harness.environment import MALLOC_TUNABLES, allocator_env, worker_env

OURS = ":".join(f"{k}={v}" for k, v in MALLOC_TUNABLES.items())


def test_ours_when_the_user_set_none():
    assert allocator_env(None) == {"GLIBC_TUNABLES": OURS}
    assert allocator_env("") == {"GLIBC_TUNABLES": OURS}


def test_a_users_tunable_wins_and_the_others_are_kept():
    merged = allocator_env("glibc.malloc.trim_threshold=1:glibc.malloc.arena_max=2")["GLIBC_TUNABLES"].split(":")
    assert merged == [
        "glibc.malloc.trim_threshold=1",
        "glibc.malloc.arena_max=2",
        f"glibc.malloc.mmap_threshold={MALLOC_TUNABLES['glibc.malloc.mmap_threshold']}",
    ]


def test_worker_env_pins_threads_and_the_allocator():
    env = worker_env(3, {"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"})
    assert env["OMP_NUM_THREADS"] == "3" and env["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{OURS}"


# Three 16 MiB blocks allocated, written and freed, over and over: the pattern of a training step's tensors.
# glibc's adaptive thresholds end at 16 MiB (mmap) and 32 MiB (trim) after the first free, so the 48 MiB freed
# at the top of the heap goes back to the kernel every time and every page faults in again; with the
# worker's settings it stays.
CHURN = """
import ctypes, resource
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
size = 16 << 20
def step():
    blocks = [libc.malloc(size) for _ in range(3)]
    for b in blocks:
        ctypes.memset(b, 1, size)
    for b in blocks:
        libc.free(b)
step(); step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(8):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(env: dict[str, str]) -> int:
    out = subprocess.run([sys.executable, "-c", CHURN], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="GLIBC_TUNABLES is read by glibc only")
def test_the_settings_stop_memory_going_back_to_the_kernel_every_step():
    pages = 8 * 3 * (16 << 20) // 4096  # every page of every block, every step
    assert faults({}) >= pages // 2
    assert faults(worker_env(1, {})) < pages // 20
