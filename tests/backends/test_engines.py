"""Every engine in a fresh process of its own, as ``bench parity`` runs them, at a tiny spec: build, step,
weight export and conversion, the parity groups (torch in both semantics against Keras on TensorFlow and on
JAX), the facts each records, and determinism of reruns in fresh processes.

One GRU run of every engine is shared by the module (GRU: the cell whose conversion permutes gates); the
keras and torch backends are covered cell by cell in-process (test_parity).
"""

from __future__ import annotations

import numpy as np
import pytest

from backends.base import parse_backend
from harness.parity import ALL_BACKENDS, CellPlan, compare_cell
from harness.parity_worker import run_workers

from .conftest import THREADS, TINY

#: Every test here reads the module's run of seven fresh framework processes (~1 min on 2 cores).
pytestmark = pytest.mark.slow

SPEC = TINY.replace(cell="gru")
PLAN = {"gru": CellPlan("float32", "float32", 3)}
DENSE_TORCH = "torch:optimizer_semantics=dense"
GROUPS = {label: parse_backend(label).backend_class().group_for(parse_backend(label).options) for label in ALL_BACKENDS}
#: What each engine must report reading back from its framework (GRU, CPU).
FACTS = {
    "keras": {"kernel_path": "tf-graph", "xla": False, "flush_denormal": True, "deterministic": True},
    "keras-xla": {"kernel_path": "xla", "xla": True, "flush_denormal": True, "deterministic": False},
    "keras-jax": {"kernel_path": "jax-jit-scan", "xla": True, "flush_denormal": True},
    "keras-torch": {"kernel_path": "keras-torch-python-loop", "xla": None, "flush_denormal": False},
    "torch": {"kernel_path": "torch-native-rnn", "xla": None, "flush_denormal": False, "compile": None},
    "torch-compile": {"kernel_path": "torch-native-rnn", "xla": None, "flush_denormal": False},
    DENSE_TORCH: {"kernel_path": "torch-native-rnn", "parity_group": "dense"},
}
STANDARD_KEYS = {"engine", "parity_group", "kernel_path", "xla", "flush_denormal", "compile", "backend", "versions"}


@pytest.fixture(scope="module")
def first_run():
    return run_workers(list(ALL_BACKENDS), SPEC, PLAN, THREADS, jobs=2)


def arrays(results, labels=ALL_BACKENDS):
    return {label: results[label].cells["gru"] for label in labels}


def test_every_engine_agrees_inside_its_group(first_run):
    result = compare_cell(SPEC, arrays(first_run), GROUPS)
    assert result.passed, result
    by_name = {(c.name, c.group): c for c in result.checks}
    # Every engine was compared at init (load, forward, gradients), and trained inside its group.
    for name in ("load", "forward", "gradients"):
        assert set(by_name[(name, None)].per_backend) >= set(ALL_BACKENDS) - {"keras"}
    assert by_name[("parameters", "tf-sparse")].reference == "keras"
    assert set(by_name[("parameters", "tf-sparse")].per_backend) == {"keras-xla", "torch", "torch-compile"}
    assert by_name[("parameters", "dense")].reference == "keras-jax"
    assert set(by_name[("parameters", "dense")].per_backend) == {"keras-torch", DENSE_TORCH}
    assert result.param_counts == {label: result.expected_params for label in ALL_BACKENDS}


def test_each_engine_trains_and_exports_canonical_weights(first_run):
    """Weights read back after loading are the canonical ones exactly; after training they have moved, the
    losses are finite, and the exported layout is canonical (checked in the worker)."""
    for label, a in arrays(first_run).items():
        assert np.all(np.isfinite(a.losses)) and len(a.losses) == 3, label
        moved = max(float(np.max(np.abs(a.final[t] - a.loaded[t]))) for t in a.loaded)
        assert moved > 1e-4, label


def test_torch_optimizer_semantics_against_keras_on_tensorflow_and_on_jax(first_run):
    """torch tf-sparse trains like Keras on TensorFlow, torch dense like Keras on JAX; each against the other
    group's Keras fails the parity check (the negative control: the wrong group's semantics)."""
    matched = compare_cell(SPEC, arrays(first_run, ["keras", "torch", "keras-jax", DENSE_TORCH]), GROUPS)
    assert matched.passed
    swapped = {"keras": "g", DENSE_TORCH: "g", "keras-jax": "h", "torch": "h"}
    result = compare_cell(SPEC, arrays(first_run, ["keras", DENSE_TORCH, "keras-jax", "torch"]), swapped)
    failed = {(c.name, c.group) for c in result.checks if not c.passed}
    assert failed == {("parameters", "g"), ("losses", "g"), ("parameters", "h"), ("losses", "h")}
    worst = next(c for c in result.checks if (c.name, c.group) == ("parameters", "g"))
    assert max(worst.per_tensor, key=worst.per_tensor.get) == "embedding"


def test_cross_group_difference_is_the_embedding_semantics(first_run):
    (cross,) = compare_cell(SPEC, arrays(first_run), GROUPS).cross_groups
    assert cross.references == ("keras", "keras-jax")
    assert cross.repeated_rows > 1e-4 > 1e-6 > cross.rest and cross.passed


@pytest.mark.parametrize("label", ALL_BACKENDS)
def test_each_engine_records_what_ran(first_run, label):
    info = first_run[label].runtime
    assert STANDARD_KEYS <= set(info)
    assert info["engine"] == parse_backend(label).name and info["parity_group"] == GROUPS[label]
    assert info["threads"] in (THREADS, None) and info["device"] == "cpu"
    for key, value in FACTS[label].items():
        assert info[key] == value, (label, key, info[key])


def test_torch_compile_records_its_compilation(first_run):
    compiled = first_run["torch-compile"].runtime["compile"]
    assert compiled["setting"].endswith("allow_rnn=False")
    # Dynamo gives up on the compiled frame at nn.GRU without allow_rnn: nothing compiled, one break.
    assert compiled["graphs"] == 0 and compiled["graph_breaks"] >= 1
    assert any("RNN, GRU, or LSTM" in reason for reason in compiled["break_reasons"])
    assert compiled["compile_s"] > 0 and compiled["total_compile_s"] >= compiled["compile_s"]


#: Engines whose reruns must be bit-identical on CPU: all of them, measured (docs/engines.md); keras is
#: rerun in a fresh process by test_determinism already.
DETERMINISTIC = ("keras-xla", "keras-jax", "keras-torch", "torch", "torch-compile")


def test_reruns_in_fresh_processes_are_bit_identical(first_run):
    """Each engine again in a fresh process: probabilities, gradients, losses and final weights equal to the
    bit. keras-xla included: XLA on CPU reran bit-identically without TensorFlow's op determinism."""
    second = run_workers(list(DETERMINISTIC), SPEC, PLAN, THREADS, jobs=2)
    for label in DETERMINISTIC:
        a, b = first_run[label].cells["gru"], second[label].cells["gru"]
        assert np.array_equal(a.probs, b.probs) and np.array_equal(a.losses, b.losses), label
        for t in a.grads:
            assert np.array_equal(a.grads[t], b.grads[t]) and np.array_equal(a.final[t], b.final[t]), (label, t)
