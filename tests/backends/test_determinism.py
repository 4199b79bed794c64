"""Same backend, same seed, same spec => bit-identical losses (CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.weights import initial_weights

from .conftest import THREADS, TINY, batch

STEPS = 5
SPEC = TINY.replace(cell="simplernn")  # the cell whose training amplifies any nondeterminism fastest


def losses(backend, mode: str, spec=SPEC) -> list[float]:
    backend.build(spec, initial_weights(spec) if mode == "matched" else None, mode=mode)
    return [backend.train_step(*batch(spec, seed)).loss for seed in range(STEPS)]


@pytest.mark.parametrize("mode", ["matched", "native"])
@pytest.mark.parametrize("name", ["keras", "torch"])
def test_rebuild_repeats_bit_for_bit(backends, name, mode):
    assert losses(backends[name], mode) == losses(backends[name], mode)


SCRIPT = """
import json, sys
from backends.base import BackendOptions, load_backend
from tests.backends.test_determinism import losses
backend = load_backend(sys.argv[1])(BackendOptions(threads=int(sys.argv[2])))
print(json.dumps(losses(backend, "native")))
"""


@pytest.mark.slow  # ~10 s: a fresh process imports TensorFlow
def test_keras_fresh_process_repeats_bit_for_bit(keras_backend):
    """Seeds and op determinism are process-global in TensorFlow: a fresh process must agree too."""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, "keras", str(THREADS)], capture_output=True, text=True, timeout=120, cwd=root
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == losses(keras_backend, "native")
