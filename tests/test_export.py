"""bench export --format pytest-benchmark: the file pytest-benchmark's own code reads and compares."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.derive import timed_steps
from harness.records import JobRecord
from tests.fixtures.factory import ENVIRONMENT, make_record, write_run

pytest.importorskip("pytest_benchmark")  # a dev dependency: skip, not fail, without it
from pytest_benchmark.stats import Stats  # noqa: E402
from pytest_benchmark.storage.file import FileStorage  # noqa: E402

ENV = {**ENVIRONMENT, "frameworks": {"tensorflow": "2.21.0", "keras": "3.10.0"}}


def export(tmp_path: Path, name: str, *extra: str) -> dict:
    out = tmp_path / f"{name}.json"
    result = CliRunner().invoke(
        cli, ["export", str(tmp_path / name), "--format", "pytest-benchmark", "--out", str(out), *extra]
    )
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


@pytest.fixture
def run(tmp_path: Path) -> list[dict]:
    records = [make_record("keras", "lstm", s, environment=ENV, rng_seed=s) for s in (0, 1)]
    records += [
        make_record("torch", "lstm", 0, environment={**ENVIRONMENT, "frameworks": {"torch": "2.13.0"}}),
        make_record("torch", "gru", 0, status="failed"),
    ]
    write_run(tmp_path, "r1", records)
    return records


def test_layout_matches_pytest_benchmark(tmp_path, run):
    data = export(tmp_path, "r1")
    assert set(data) == {"machine_info", "commit_info", "benchmarks", "datetime", "version"}
    assert [b["name"] for b in data["benchmarks"]] == ["train_step[keras-lstm]", "train_step[torch-lstm]"]
    bench = data["benchmarks"][0]
    assert set(bench) == {"group", "name", "fullname", "params", "param", "extra_info", "options", "stats"}
    assert (bench["group"], bench["params"]) == ("lstm", {"backend": "keras", "cell": "lstm"})
    assert set(Stats.fields) | {"data", "iterations"} == set(bench["stats"])
    mi = data["machine_info"]
    assert mi["frameworks"] == {"keras": "3.10.0", "tensorflow": "2.21.0", "torch": "2.13.0"}
    assert (mi["threads"], mi["cores"], mi["cpu"]["brand_raw"]) == (2, 2, "Test CPU @ 2.0GHz")
    assert data["commit_info"]["id"] == "0" * 40


def test_stats_equal_pytest_benchmarks_own(tmp_path, run):
    bench = export(tmp_path, "r1")["benchmarks"][0]
    steps = [
        float(t) for r in run[:2] for t in timed_steps(JobRecord.from_dict(r))
    ]  # both keras seeds, warm-up excluded
    assert bench["stats"]["data"] == steps
    assert_same_stats(bench["stats"], steps)


@pytest.mark.parametrize("n", [1, 2, 5, 6, 7, 8, 9])
def test_quartiles_match_for_every_remainder(n):
    from harness.export import benchmark_stats

    data = [0.01 * (1 + (i * 7) % n) for i in range(n)]
    assert_same_stats(benchmark_stats(data), data)


def assert_same_stats(ours: dict, data: list[float]) -> None:
    """Every field of pytest_benchmark.stats.Stats.as_dict(), computed by pytest-benchmark itself."""
    reference = Stats()
    for t in data:
        reference.update(t)
    expected = reference.as_dict()
    assert ours.pop("outliers") == expected.pop("outliers")  # a string: "stddev_outliers;iqr_outliers"
    assert {k: ours[k] for k in expected} == pytest.approx(expected)


def test_pytest_benchmark_loads_and_compares_two_exports(tmp_path, run):
    write_run(tmp_path, "r2", [make_record("keras", "lstm", 0, environment=ENV, step_ms=25.0, rng_seed=9)])
    export(tmp_path, "r1")
    export(tmp_path, "r2")
    files = [str(tmp_path / "r1.json"), str(tmp_path / "r2.json")]
    storage = FileStorage(tmp_path / "storage", logger=_Quiet())
    loaded = list(storage.load_benchmarks(*files))
    assert len(loaded) == 3 and all(b["ops"] > 0 for b in loaded)
    cli_path = Path(sys.executable).with_name("pytest-benchmark")
    done = subprocess.run(
        [str(cli_path), "compare", *files, "--columns", "min,median,mean,ops"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "train_step[keras-lstm]" in done.stdout and "train_step[torch-lstm]" in done.stdout


def test_stdout_by_default(tmp_path, run):
    result = CliRunner().invoke(cli, ["export", "r1", "--format", "pytest-benchmark", "--results", str(tmp_path)])
    assert result.exit_code == 0 and json.loads(result.stdout)["version"]


class _Quiet:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None
