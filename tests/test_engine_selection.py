"""Choosing engines on the command line: variants (NAME:KEY=VALUE), config validation, ``bench backends``,
and a missing engine refused in one line (exit 2) before any data is prepared. No framework is imported."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from backends.base import BUILTIN, parse_backend, resolve_backends
from harness.cli import cli
from harness.errors import BenchError


def test_variant_labels_are_canonical():
    ref = parse_backend("torch:flush_denormal=True:optimizer_semantics=dense")
    assert ref.name == "torch" and ref.options == {"flush_denormal": True, "optimizer_semantics": "dense"}
    assert ref.label == "torch:flush_denormal=true:optimizer_semantics=dense"
    assert parse_backend(ref.label) == ref and parse_backend("keras").label == "keras"


@pytest.mark.parametrize(
    "label, needle",
    [
        ("torch:flush_denormal", "expected NAME:KEY=VALUE"),
        ("torch:flush_denormal=yes", "option flush_denormal='yes' for backend 'torch' is not a valid bool"),
        ("torch-compile:allow_rnn=1", "option allow_rnn=1"),
        ("torch:optimizer_semantics=sparse", "choice ('tf-sparse' | 'dense')"),
        ("keras-xla:jit_compile=true", "unknown option(s) for backend 'keras-xla': jit_compile"),
        ("tensorflow", "unknown backend 'tensorflow'"),
    ],
)
def test_bad_variants_are_one_line_errors(label, needle):
    with pytest.raises(BenchError) as err:
        resolve_backends([label])
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_every_builtin_engine_resolves_without_importing_a_framework():
    before = set(sys.modules)
    refs = resolve_backends([*BUILTIN, "torch-compile:allow_rnn=true", "torch:flush_denormal=true"])
    assert [r.name for r in refs][: len(BUILTIN)] == list(BUILTIN)
    imported = {m.split(".")[0] for m in set(sys.modules) - before}
    assert not imported & {"tensorflow", "keras", "jax", "torch"}


def test_bench_backends_lists_every_engine(test_backends):
    result = CliRunner().invoke(cli, ["backends", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    entries = {e["name"]: e for e in data["backends"]}
    assert set(BUILTIN) <= set(entries) and set(data["parity_groups"]) == {"tf-sparse", "dense"}
    groups = {name: entries[name]["parity_group"] for name in BUILTIN}
    assert groups == {
        "keras": "tf-sparse",
        "keras-xla": "tf-sparse",
        "keras-jax": "dense",
        "keras-torch": "dense",
        "torch": "tf-sparse",
        "torch-compile": "tf-sparse",
    }
    for name in BUILTIN:  # the set-up installs every engine
        assert entries[name]["installed"] and entries[name]["description"], name
        assert all(entries[name]["versions"].values()), entries[name]["versions"]
    assert entries["torch"]["options"]["optimizer_semantics"] == "tf-sparse"
    assert entries["torch-compile"]["options"]["allow_rnn"] is False
    missing = entries["missing-engine"]
    assert not missing["installed"] and "'rnn-bench-no-such-package' is not installed" in missing["reason"]
    text = CliRunner().invoke(cli, ["backends"]).output
    assert "missing-engine" in text and "no: package 'rnn-bench-no-such-package'" in text
    assert (
        "torch-compile: freeze_bias_hh=true, optimizer_semantics=tf-sparse, flush_denormal=false, allow_rnn=false"
        in text
    )


def test_run_refuses_a_missing_engine_before_preparing_data(tmp_path, test_backends):
    """The data source does not exist either: the engine error comes first, and nothing is written."""
    args = ["run", "--backends", "torch,missing-engine", "--data", str(tmp_path / "absent.tar.gz")]
    result = CliRunner().invoke(cli, [*args, "--results", str(tmp_path / "results")])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "backend 'missing-engine' needs the 'rnn-bench-no-such-package' package" in result.output
    assert not (tmp_path / "results").exists()


def test_run_refuses_a_bad_option_in_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--backends", "torch:fused=true", "--results", str(tmp_path)])
    assert result.exit_code == 2 and "unknown option(s) for backend 'torch': fused" in result.output
    assert result.output.count("\n") == 1
