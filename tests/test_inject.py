"""The slowdown bench check calibrate injects: the worker really adds it to every timed step, records it,
and such runs are never taken for real ones."""

from __future__ import annotations

import itertools

import pytest

from harness import inject
from harness.errors import BenchError
from harness.progress import LineProgress
from harness.records import read_record
from harness.runner import RunConfig, start
from harness.spec import Spec
from tests.fixtures.factory import make_record, write_run

SPEC = Spec(vocab_size=60, embed_dim=4, units=4, maxlen=16, batch_size=32, epochs=2)


def run_once(tmp_path, name: str) -> dict:
    config = RunConfig(
        spec=SPEC,
        backends=("numpy-fake",),
        cells=("lstm",),
        seeds=(0,),
        mode="matched",
        data="synthetic:train=200,test=64,seed=3",
        threads=1,
        target_acc=0.6,
        results=tmp_path,
        name=name,
    )
    run, _ = start(config, lambda: LineProgress())
    return read_record(run.path / "jobs" / "numpy-fake-lstm-s0.json")


def test_every_step_is_slowed_by_the_fraction_and_the_record_says_so(tmp_path, test_backends, monkeypatch):
    monkeypatch.setenv(inject.ENV, "0.5")
    record = run_once(tmp_path, "slowed")
    injected = record.runtime[inject.RECORD_KEY]
    times = record.steps.time_s
    assert injected["fraction"] == 0.5 and len(injected["step_s"]) == len(injected["wait_s"]) == len(times) > 0
    # The worker's own measurements, not wall-clock noise: each wait is at least half the step's own time,
    # and the recorded step time holds both, so it grew by at least the requested fraction. (1 ns: the
    # rounding of clock readings near 1e3 s, where one float step is 1e-13 s.)
    for own, wait, total in zip(injected["step_s"], injected["wait_s"], times):
        assert own > 0 and wait >= 0.5 * own - 1e-9 and total >= own + wait - 1e-9
    monkeypatch.delenv(inject.ENV)
    assert inject.RECORD_KEY not in run_once(tmp_path, "real").runtime


def test_a_bad_value_fails_the_job_with_the_reason(tmp_path, test_backends, monkeypatch):
    monkeypatch.setenv(inject.ENV, "fast")
    record = run_once(tmp_path, "bad")
    assert record.status == "failed" and f"{inject.ENV}='fast' is not a fraction >= 0" in record.error


def test_requested_and_busy_wait():
    assert inject.requested({}) == 0.0 and inject.requested({inject.ENV: " 0.25 "}) == 0.25
    for bad in ("-0.1", "nan", "inf", "x"):
        with pytest.raises(BenchError, match="is not a fraction"):
            inject.requested({inject.ENV: bad})
    ticks = itertools.count(start=10.0, step=0.004)  # a clock that advances 4 ms a read
    assert inject.busy_wait(0.01, clock=lambda: next(ticks)) == pytest.approx(0.012)


def slowed_record(**kwargs) -> dict:
    record = make_record("keras", "lstm", 0, **kwargs)
    record["runtime"][inject.RECORD_KEY] = {"fraction": 0.25, "step_s": [], "wait_s": []}
    return record


def test_check_notes_slowed_runs_and_baseline_save_refuses_them(tmp_path):
    from click.testing import CliRunner

    from harness.cli import cli

    write_run(tmp_path, "base", [make_record("keras", "lstm", 0)])
    write_run(tmp_path, "slowed", [slowed_record(rng_seed=1)])
    bench = CliRunner()
    result = bench.invoke(cli, ["check", "--baseline", "base", "--candidate", "slowed", "--results", str(tmp_path)])
    assert "note: candidate ran with a slowdown of 25% injected by bench check calibrate" in result.stdout
    result = bench.invoke(
        cli, ["baseline", "save", "slowed", "--out", str(tmp_path / "b.json"), "--results", str(tmp_path)]
    )
    assert result.exit_code == 2 and "slowed on purpose by bench check calibrate" in result.stderr
    assert not (tmp_path / "b.json").exists()
