"""bench export --format pytest-benchmark: the file pytest-benchmark's own code reads and compares."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.derive import timed_steps
from harness.records import JobRecord, read_record
from tests.bench_process import TINY_DATA, TINY_SPEC, bench
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
    assert len(loaded) == 3
    for loaded_one in loaded:  # pytest-benchmark's own reading of the numbers: operations per second = 1 / mean
        assert loaded_one["ops"] == pytest.approx(1 / statistics.mean(loaded_one["data"]))
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
    assert result.exit_code == 0
    assert json.loads(result.stdout) == export(tmp_path, "r1")  # the same document as --out writes


# -- real runs, through the `bench` command --------------------------------------------------------------


def tiny_run(results: Path, name: str, epochs: int) -> Path:
    """A real `bench run` of the framework-free test backend: 5 steps an epoch (160 reviews, batch 32)."""
    ran = bench(
        "run", "--backends", "numpy-fake", "--cells", "lstm", "--epochs", epochs, *TINY_DATA, *TINY_SPEC,
        "--threads", "1", "--results", results, "--name", name, "--quiet",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    return results / name


def test_a_run_without_timed_steps_says_why_and_writes_nothing(tmp_path):
    run = tiny_run(tmp_path, "short", epochs=1)  # its 5 steps are all warm-up steps
    out = tmp_path / "short.json"
    for where in (["--out", out], []):
        result = bench("export", run, "--format", "pytest-benchmark", *where)
        assert (result.returncode, result.stdout) == (2, ""), result.stderr
        assert result.stderr == (
            "error: nothing to export from run short: its 1 finished job(s) have no timed steps (every step was "
            "a warm-up step, the first 5 of a job, or a partial last batch); train for more steps (more epochs "
            "or training reviews) and export that run\n"
        )
        assert not out.exists()


def test_pytest_benchmark_compares_an_exported_run_with_its_own_file(tmp_path):
    """As a user would: pytest-benchmark writes a file for a real benchmark, bench exports a real run, and
    ``pytest-benchmark compare`` reads both into one table, with the run's timed steps as rounds."""
    (tmp_path / "test_real.py").write_text("def test_sum(benchmark):\n    benchmark(sum, range(1000))\n")
    made = subprocess.run(
        [sys.executable, "-m", "pytest", "test_real.py", "-q", "-p", "no:cacheprovider", "--benchmark-json=real.json",
         "--benchmark-min-rounds=5", "--benchmark-max-time=0.001"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    run = tiny_run(tmp_path, "long", epochs=3)  # 15 steps: 10 after the 5 warm-up steps
    exported = bench("export", run, "--format", "pytest-benchmark", "--out", tmp_path / "run.json")
    assert exported.returncode == 0, exported.stderr
    record = read_record(run / "jobs" / "numpy-fake-lstm-s0.json")
    assert json.loads((tmp_path / "run.json").read_text())["benchmarks"][0]["stats"]["data"] == list(
        timed_steps(record)
    )

    cli_path = Path(sys.executable).with_name("pytest-benchmark")
    done = subprocess.run(
        [str(cli_path), "compare", "real.json", "run.json", "--columns", "rounds,median", "--group-by", "name"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line.startswith(("test_", "train_"))}
    assert set(rows) == {"test_sum", "train_step[numpy-fake-lstm]"}, done.stdout
    assert rows["test_sum"][1] == "(real)"
    name, source, rounds, median = rows["train_step[numpy-fake-lstm]"]
    assert (source, rounds) == ("(run)", "10")  # its rounds: the run's 10 timed steps ...
    assert float(median) == pytest.approx(statistics.median(timed_steps(record)) * 1e6, rel=1e-4)  # ... in us


class _Quiet:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None
