from __future__ import annotations

import dataclasses

import pytest

from harness.cli.options import build_spec
from harness.errors import BenchError
from harness.spec import Spec


def test_defaults_are_the_classic_keras_imdb_setup():
    s = Spec()
    assert (s.vocab_size, s.embed_dim, s.units, s.maxlen) == (10000, 32, 32, 500)
    assert (s.batch_size, s.epochs, s.validation_split, s.seed) == (128, 10, 0.2, 0)
    assert (s.optimizer, s.learning_rate, s.rho, s.epsilon, s.loss) == (
        "rmsprop",
        1e-3,
        0.9,
        1e-7,
        "binary_crossentropy",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.units = 64  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes, needle",
    [
        ({"maxlen": 0}, "maxlen must be an integer >= 1"),
        ({"vocab_size": 2}, "vocab_size must be an integer >= 4"),
        ({"validation_split": 0.0}, "validation_split must be strictly between 0 and 1"),
        ({"validation_split": 1.0}, "validation_split must be strictly between 0 and 1"),
        ({"cell": "transformer"}, "unknown cell 'transformer'; valid cells: simplernn, lstm, gru"),
        ({"learning_rate": -1.0}, "learning_rate must be a positive number"),
        ({"rho": 1.0}, "rho must be in [0, 1)"),
        ({"batch_size": True}, "batch_size must be an integer"),
    ],
)
def test_invalid_specs_are_rejected_with_a_clear_message(changes, needle):
    with pytest.raises(BenchError) as err:
        Spec(**changes)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_json_and_toml_round_trip():
    s = Spec(cell="gru", units=16, learning_rate=0.002, seed=7)
    assert Spec.from_json(s.to_json()) == s
    assert Spec.from_toml(s.to_toml()) == s
    assert Spec.from_toml("[spec]\nunits = 8\n") == Spec(units=8)


def test_spec_hash_is_stable_and_changes_with_every_field():
    base = Spec()
    assert base.spec_hash == Spec().spec_hash == Spec.from_json(base.to_json()).spec_hash
    other = {
        "vocab_size": 5000,
        "embed_dim": 16,
        "units": 16,
        "maxlen": 400,
        "cell": "gru",
        "batch_size": 64,
        "epochs": 3,
        "learning_rate": 0.01,
        "rho": 0.95,
        "epsilon": 1e-6,
        "validation_split": 0.1,
        "seed": 1,
    }
    hashes = {base.spec_hash}
    for name, value in other.items():
        hashes.add(base.replace(**{name: value}).spec_hash)
    assert len(hashes) == len(other) + 1


def test_unknown_and_mistyped_fields_are_errors():
    with pytest.raises(BenchError, match="unknown spec field"):
        Spec.from_dict({"unitz": 3})
    with pytest.raises(BenchError, match="units must be int"):
        Spec.from_dict({"units": "many"})
    with pytest.raises(BenchError, match="not valid TOML"):
        Spec.from_toml("units = = 3")


def test_config_file_then_command_line_overrides(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("units = 8\nmaxlen = 100\n")
    spec = build_spec(str(cfg), {"maxlen": 50, "units": None})
    assert (spec.units, spec.maxlen) == (8, 50)
    with pytest.raises(BenchError, match="config file not found"):
        build_spec(str(tmp_path / "missing.toml"), {})
