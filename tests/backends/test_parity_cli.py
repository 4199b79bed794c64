"""``bench parity``: exit 0 when every check passes, 1 when one fails, 2 on bad input."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

import backends.torch_layout as layout
from harness.cli import cli

from .conftest import THREADS

#: The parity data's shape in conftest.TINY (labels with a signal), at bench parity's embed_dim and units (32).
TINY_ARGS = ["--batch-size", "16", "--length", "64", "--vocab-size", "500", "--threads", str(THREADS)]


def bench(*args: str):
    return CliRunner().invoke(cli, ["parity", *args])


def test_passing_run_prints_tables_and_tolerances(backends):
    result = bench("--cells", "gru", "--steps", "2", *TINY_ARGS)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "gru: trainable parameters keras 22,369, torch 22,369 (expected 22,369)" in out
    assert "Tolerances" in out and "parity: all 5 checks pass" in out


def test_json_output(backends):
    result = bench("--cells", "lstm,simplernn", "--steps", "2", "--json", *TINY_ARGS)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["passed"] and data["dtype"] == "auto" and [c["cell"] for c in data["cells"]] == ["lstm", "simplernn"]
    steps = {c["cell"]: next(k for k in c["checks"] if k["name"] == "parameters") for c in data["cells"]}
    assert steps["simplernn"]["dtype"] == "float64" and steps["lstm"]["dtype"] == "float32"
    assert set(data["runtime"]) == {"keras", "torch"}


def test_forced_float32_caps_simplernn_steps(backends):
    result = bench("--cells", "simplernn", "--steps", "10", "--dtype", "float32", "--json", *TINY_ARGS)
    assert result.exit_code == 0, result.output
    check = next(k for k in json.loads(result.output)["cells"][0]["checks"] if k["name"] == "parameters")
    assert (check["dtype"], check["steps"]) == ("float32", 3)


def test_failing_check_exits_1(backends, monkeypatch):
    monkeypatch.setitem(layout.KERAS_TO_TORCH_GATES, "gru", (0, 1, 2))
    result = bench("--cells", "gru", "--steps", "0", *TINY_ARGS)
    assert result.exit_code == 1
    assert "FAILED: gru/forward, gru/gradients" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cells", "rnn"], "unknown cell 'rnn'"),
        (["--backends", "keras,jax"], "unknown backend 'jax'"),
        (["--backends", "torch"], "parity needs at least two backends"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message):
    result = bench(*args, *TINY_ARGS)
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1


def test_missing_framework_exits_2(backends, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    result = bench("--cells", "gru", *TINY_ARGS)
    assert result.exit_code == 2 and "needs the 'torch' package" in result.output
