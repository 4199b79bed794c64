"""On a GPU only (skipped elsewhere; the smoke script runs the same check, scripts/gpu/step_sync.py): a step
must not return before its device work is done. For every engine installed here whose framework can train
on a GPU, at the real shape (batch 128 x length 500, LSTM): the median time an explicit device synchronise
takes right after a step is within the check's tolerance (2 ms + 5% of the step)."""

from __future__ import annotations

import pytest

from harness.devices import visible_gpus
from harness.spec import Spec
from scripts.gpu.smoke import available_engines
from scripts.gpu.step_sync import run_engine

pytestmark = pytest.mark.skipif(not visible_gpus(), reason="needs an NVIDIA GPU (nvidia-smi -L lists none)")


@pytest.mark.parametrize("engine", available_engines() if visible_gpus() else ["torch"])
def test_a_step_ends_when_the_device_has_finished(engine):
    result = run_engine(engine, "gpu", Spec(cell="lstm"), timeout_s=300)
    assert result.device.startswith("cuda"), result
    assert result.passed, result.line()
