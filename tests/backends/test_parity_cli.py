"""``bench parity``: exit 0 when every check passes, 1 when one fails, 2 on bad input. Each backend runs in
a fresh process; torch-only pairs keep these tests quick (test_engines covers the Keras engines)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from harness.cli import cli

from .conftest import THREADS

#: The parity data's shape in conftest.TINY (labels with a signal), at bench parity's embed_dim and units (32).
TINY_ARGS = ["--batch-size", "16", "--length", "64", "--vocab-size", "500", "--threads", str(THREADS)]
PAIR = ["--backends", "torch,torch-compile,torch:optimizer_semantics=dense"]


def bench(*args: str):
    return CliRunner().invoke(cli, ["parity", *args])


def test_passing_run_prints_groups_tables_and_tolerances():
    result = bench("--cells", "gru", "--steps", "2", *PAIR, "--jobs", "2", *TINY_ARGS)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "tf-sparse (reference torch): torch, torch-compile" in out
    assert "dense (reference torch:optimizer_semantics=dense): torch:optimizer_semantics=dense" in out
    assert "gru: trainable parameters 22,369 on every backend" in out
    assert "cross-group dense vs tf-sparse" in out and "measured, not a failure" in out
    assert "Tolerances" in out and "parity: all 7 checks pass" in out


def test_json_output_and_forced_float32():
    args = ["--cells", "simplernn", "--steps", "5", "--dtype", "float32", "--json", "--backends", "torch,torch-compile"]
    result = bench(*args, *TINY_ARGS)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["passed"] and data["dtype"] == "float32" and [c["cell"] for c in data["cells"]] == ["simplernn"]
    check = next(k for k in data["cells"][0]["checks"] if k["name"] == "parameters")
    assert (check["dtype"], check["steps"], check["group"]) == ("float32", 3, "tf-sparse")
    assert set(data["runtime"]) == {"torch", "torch-compile"} and data["groups"]["torch"] == "tf-sparse"


def test_broken_conversion_in_a_fresh_process_exits_1(test_backends):
    """Negative control: a torch backend (test plugin) that forgets the GRU gate swap."""
    result = bench("--cells", "gru", "--steps", "0", "--backends", "torch,torch-gruswap", *TINY_ARGS)
    assert result.exit_code == 1, result.output
    assert "FAILED: gru/load, gru/forward, gru/gradients" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cells", "rnn"], "unknown cell 'rnn'"),
        (["--backends", "keras,jax"], "unknown backend 'jax'"),
        (["--backends", "torch"], "parity needs at least two backends"),
        (["--backends", "torch,torch:fused=true"], "unknown option(s) for backend 'torch': fused"),
        (["--backends", "torch,torch:optimizer_semantics=sparse"], "option optimizer_semantics='sparse'"),
        (["--dtype", "float64", "--backends", "keras,keras-jax"], "'keras-jax' cannot be checked in float64"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message):
    result = bench(*args, *TINY_ARGS)
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1


def test_missing_engine_exits_2_naming_the_package(test_backends):
    result = bench("--backends", "torch,missing-engine", *TINY_ARGS)
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "backend 'missing-engine' needs the 'rnn-bench-no-such-package' package" in result.output
