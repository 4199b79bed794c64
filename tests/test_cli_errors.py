"""The README's promise for bad input, kept for the options click validates itself too: one line on stderr
starting ``error:``, naming the option and the valid values, exit 2, nothing on stdout, no traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from harness.cli import cli
from tests.bench_process import bench


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["run", "--mode", "fast"],
            "error: invalid value for '--mode': 'fast' is not one of 'matched', 'native'; see 'bench run --help'",
        ),
        (
            ["run", "--epochs", "abc"],
            "error: invalid value for '--epochs': 'abc' is not a valid integer; see 'bench run --help'",
        ),
        (
            ["check", "--normalize", "sometimes"],
            "error: invalid value for '--normalize': 'sometimes' is not one of 'auto', 'always', 'never'; "
            "see 'bench check --help'",
        ),
        (
            ["export", "RUN", "--format", "bogus"],
            "error: invalid value for '--format': 'bogus' is not 'pytest-benchmark'; see 'bench export --help'",
        ),
        (["export"], "error: missing argument 'RUN'; see 'bench export --help'"),
        (["baseline", "save", "RUN"], "error: missing option '--out'; see 'bench baseline save --help'"),
        (["--bogus"], "error: no such option '--bogus'; see 'bench --help'"),
        (["nosuch"], "error: no such command 'nosuch'; see 'bench --help'"),
    ],
)
def test_click_usage_errors_are_one_line_with_exit_2(args, line):
    result = CliRunner().invoke(cli, args, prog_name="bench")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", line + "\n")


def test_the_installed_entry_point_answers_the_same_way():
    """The same, from a fresh `bench` process: nothing but the line reaches the terminal."""
    result = bench("run", "--mode", "fast")
    assert (result.returncode, result.stdout) == (2, "")
    assert (
        result.stderr
        == "error: invalid value for '--mode': 'fast' is not one of 'matched', 'native'; see 'bench run --help'\n"
    )
