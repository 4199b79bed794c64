"""What the worker records about the engine that ran: facts read back after the first step and at the end,
variants (NAME:KEY=VALUE) as the job's backend, and a timeout inside the first step recorded as a compile
timeout, not a crash."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.progress import LineProgress
from harness.records import read_record
from harness.runner import start

from .test_runner import DATA
from .test_runner import config as run_config


def test_a_timeout_in_the_first_step_is_a_compile_timeout(tmp_path, test_backends):
    """The fake hangs in its first step, as torch.compile(allow_rnn=True) does while compiling a long LSTM."""
    hang = {"hang_at_step": 1}
    config = run_config(tmp_path, backends=("numpy-fake",), cells=("lstm",), timeout_s=4, backend_extra=hang)
    run, statuses = start(config, lambda: LineProgress())
    assert statuses == {"numpy-fake-lstm-s0": "timeout"}
    record = read_record(run.path / "jobs" / "numpy-fake-lstm-s0.json")
    assert record.status == "timeout" and record.error.startswith("compile timeout:")
    assert record.runtime["compile_timeout"] is True and record.steps.time_s == []
    assert record.runtime["kernel_path"] is None  # no step ran


@pytest.mark.slow  # two torch processes (~20 s on 2 cores)
def test_torch_variants_record_what_ran(tmp_path):
    args = ["run", "--backends", "torch-compile,torch:flush_denormal=true", "--cells", "lstm", "--data", DATA]
    args += ["--epochs", "1", "--maxlen", "16", "--vocab-size", "60", "--threads", "1", "--quiet"]
    result = CliRunner().invoke(cli, [*args, "--results", str(tmp_path), "--name", "t"])
    assert result.exit_code == 0, result.output
    compiled = read_record(tmp_path / "t" / "jobs" / "torch-compile-lstm-s0.json").runtime
    assert compiled["engine"] == "torch-compile" and compiled["kernel_path"] == "torch-mkldnn-rnn"
    assert compiled["compile"]["graphs"] == 0 and compiled["compile"]["compile_s"] > 0
    assert compiled["flush_denormal"] is False and compiled["parity_group"] == "tf-sparse"
    ftz = read_record(tmp_path / "t" / "jobs" / "torch:flush_denormal=true-lstm-s0.json")
    assert ftz.backend == "torch:flush_denormal=true" and ftz.runtime["engine"] == "torch"
    assert ftz.runtime["config"]["flush_denormal"] is True and ftz.runtime["flush_denormal"] is True


def test_a_timeout_wrapped_by_a_framework_is_still_a_timeout():
    """torch.compile re-raises what interrupts inductor as BackendCompilerFailed: the chain decides."""
    from harness.worker import JobTimeout, _caused_by_timeout

    try:
        try:
            raise JobTimeout()
        except BaseException as inner:
            raise RuntimeError("backend='inductor' raised: JobTimeout") from inner
    except RuntimeError as wrapped:
        assert _caused_by_timeout(wrapped)
    assert not issubclass(JobTimeout, Exception)  # so that `except Exception` in a framework lets it through
    assert not _caused_by_timeout(RuntimeError("a real crash"))
