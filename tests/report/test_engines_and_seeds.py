"""The report on many seeds of several engines (tests/fixtures/runs/report/engines, built by
tests/report/scenarios.py::engines): runtime facts, where engines differ, paired statistics with the power
hint, shared machines and kinds of host, the headline and --reference."""

from __future__ import annotations

import json
import math

import matplotlib.image as mpimg
import numpy as np
import pytest
from scipy import stats as sps

from harness import seed_stats
from harness.report import charts, hosts
from harness.report.document import Heading, Table, build
from harness.report.headline import headline
from harness.report.load import load_runs
from tests.report.helpers import analysed, analysed_records, row
from tests.report.scenarios import (
    ENGINE_TEST_ACC,
    FIXTURES,
    KERAS_VAL,
    OTHER_KIND_JOB,
    SHARED_JOB,
    record,
)

T_975_2 = 4.302652729911275  # Student t, 97.5% quantile, 2 degrees of freedom


@pytest.fixture(scope="module")
def engines():
    return analysed(FIXTURES / "engines")  # read only: nothing is written


def acc(engine: str, cell: str) -> np.ndarray:
    return np.array(ENGINE_TEST_ACC[engine][cell])


# -- what each engine ran -------------------------------------------------------------------------------


def test_the_engines_table_shows_what_each_engine_ran(engines):
    compiled = row(engines.engines, backend="torch-compile", cell="lstm")
    assert (compiled["parity_group"], compiled["kernel_path"], compiled["flush_denormal"]) == (
        "tf-sparse",
        "torch-mkldnn-rnn",
        False,
    )
    assert compiled["xla"] is None  # torch cannot compile with XLA: the contract's null
    assert (compiled["compile_setting"], compiled["graphs"], compiled["graph_breaks"]) == ("default", 2, 1)
    # compile time apart from the first step it is part of, and both apart from the steady step
    assert (compiled["compile_s"], compiled["first_step_s"]) == pytest.approx((3.2, 3.5))
    assert compiled["step_ms_median"] == pytest.approx(29.0, rel=0.02)
    jax = row(engines.engines, backend="keras-jax", cell="lstm")
    assert (jax["parity_group"], jax["kernel_path"], jax["xla"], jax["flush_denormal"]) == (
        "dense",
        "jax-jit-scan",
        True,
        True,
    )
    # its seed 1 ran on a twice-as-fast kind of host: with it, the mean would be (16 + 8 + 16) / 3
    assert jax["step_ms_median"] == pytest.approx(16.0, rel=0.02)
    # torch gru seed 2 shared its machine (10x slower steps): with it, the mean would be 80 ms
    assert row(engines.engines, backend="torch", cell="gru")["step_ms_median"] == pytest.approx(20.0, rel=0.02)

    table = next(b for b in build(engines) if isinstance(b, Table) and b.name == "engines")
    assert table.header[:6] == ("backend", "cell", "parity group", "kernel path", "XLA", "flush-to-zero")
    rows = {(r[0], r[1]): r for r in table.rows}
    assert rows[("keras", "lstm")][2:6] == ("tf-sparse", "tf-graph", "no", "on")
    assert rows[("torch-compile", "gru")][2:9] == ("tf-sparse", "torch-mkldnn-rnn", "–", "off", "default", "2", "1")


def test_records_without_runtime_facts_show_unknown(runs):
    data = analysed(*runs("basic"))  # records from before the runtime contract
    facts = data.engines[["parity_group", "kernel_path", "xla", "flush_denormal", "compile_setting"]]
    assert facts.isna().all().all()
    blocks = build(data)
    table = next(b for b in blocks if isinstance(b, Table) and b.name == "engines")
    assert table.header[-3:] == ("flush-to-zero", "first step (s)", "median step (ms)")  # no compile columns
    assert all(r[2:6] == ("–", "–", "–", "–") for r in table.rows)
    assert data.differences == []
    assert not any(isinstance(b, Heading) and b.text == "Where engines still differ" for b in blocks)


def test_where_engines_differ_names_both_parity_groups_with_this_runs_accuracy(engines):
    line = engines.differences[0]
    assert line.startswith("Optimizer semantics (parity groups): tf-sparse (keras, torch, torch-compile): ")
    assert "IndexedSlices, one slice per token occurrence" in line and "dense (keras-jax): " in line
    assert "duplicate tokens are summed first" in line
    assert "documented in docs/report.md, not measured in this run" in line
    for cell in ("lstm", "gru"):
        sparse = np.concatenate([acc(e, cell) for e in ("keras", "torch", "torch-compile")]).mean()
        dense = acc("keras-jax", cell).mean()
        apart = abs(sparse - dense) * 100
        assert f"{cell}: tf-sparse {sparse:.3f} (9 jobs), dense {dense:.3f} (3 jobs), {apart:.1f} pts apart" in line


def test_flush_to_zero_states_come_from_the_records(engines):
    assert engines.differences[1].startswith(
        "Flush-to-zero of subnormal floats (what each job ran with): on for keras, keras-jax; off for torch, "
        "torch-compile. Its effect on step time is not measured in this run"
    )


def test_a_flush_to_zero_effect_is_measured_when_one_engine_ran_both_ways(tmp_path):
    def job(backend: str, seed: int, flush: bool, ms: float) -> dict:
        runtime = {"parity_group": "tf-sparse", "flush_denormal": flush}
        return record(backend, "simplernn", seed, step_ms=ms, step_noise=0.0, runtime=runtime, rng_seed=seed)

    records = [job("keras", 0, True, 20.0), job("torch", 0, True, 44.0), job("torch", 1, False, 103.0)]
    line = analysed_records(tmp_path, records).differences[1]
    assert line == (
        "Flush-to-zero of subnormal floats (what each job ran with): on for keras, torch; off for torch. Its effect "
        "on the median step, measured here: torch simplernn: 44.0 ms with it on, 103 ms off (2.34× as long off)."
    )


def test_a_flush_to_zero_variant_is_measured_against_its_engine(tmp_path):
    # bench run --backends torch,torch:flush_denormal=true,torch:optimizer_semantics=dense: two labels, one
    # switch apart, and a third that differs in something else
    def job(backend: str, flush: bool, ms: float) -> dict:
        runtime = {"parity_group": "tf-sparse", "flush_denormal": flush}
        return record(backend, "simplernn", 0, step_ms=ms, step_noise=0.0, runtime=runtime, rng_seed=0)

    records = [
        job("torch", False, 90.0),
        job("torch:flush_denormal=true", True, 45.0),
        job("torch:optimizer_semantics=dense", False, 300.0),
    ]
    line = analysed_records(tmp_path, records).differences[1]
    assert line.endswith(
        "Its effect on the median step, measured here: torch simplernn: 45.0 ms with it on, 90.0 ms off "
        "(2.00× as long off)."
    )


# -- accuracy over seeds -------------------------------------------------------------------------------


def test_paired_comparison_and_power_hint_per_backend(engines):
    paired = row(engines.paired, cell="lstm", backend="keras-jax", metric="test_acc")
    diffs = acc("keras-jax", "lstm") - acc("keras", "lstm")  # -0.015, -0.022, -0.018
    sd = diffs.std(ddof=1)
    assert paired["pairs"] == 3 and paired["reference"] == "keras"
    assert paired["diff"] == pytest.approx(diffs.mean())
    half = T_975_2 * sd / math.sqrt(3)
    assert (paired["ci_low"], paired["ci_high"]) == pytest.approx((diffs.mean() - half, diffs.mean() + half))
    assert paired["t_p"] == pytest.approx(sps.ttest_rel(acc("keras-jax", "lstm"), acc("keras", "lstm")).pvalue)
    assert paired["wilcoxon_p"] == pytest.approx(0.25)  # three negative differences: exact p = 2 / 2^3
    assert paired["verdict"] == "keras-jax 1.8 pts lower than keras"
    assert paired["detectable"] == pytest.approx(seed_stats.detectable_difference(sd, 3))
    assert 0.005 < paired["detectable"] < 0.02
    assert paired["seeds_for_1pt"] == seed_stats.seeds_needed(sd, 0.01) == 4
    same_group = row(engines.paired, cell="lstm", backend="torch", metric="test_acc")
    assert same_group["verdict"] == "no clear difference" and same_group["t_p"] > 0.3

    table = next(b for b in build(engines) if isinstance(b, Table) and b.name == "paired")
    first = dict(zip(table.header, table.rows[0]))
    assert first["effect vs keras [95% CI]"] == "-1.8 pts [-2.7, -1.0]"
    assert (first["Wilcoxon p"], first["seeds"], first["seeds for 1 pt"]) == ("0.250", "3", "4")


def test_accuracy_and_loss_are_mean_and_interval_over_seeds(engines):
    stat = row(engines.seed_table, backend="keras-jax", cell="lstm", metric="test_acc")
    values = acc("keras-jax", "lstm")
    half = T_975_2 * values.std(ddof=1) / math.sqrt(3)
    assert (stat["mean"], stat["ci_low"], stat["ci_high"]) == pytest.approx(
        (values.mean(), values.mean() - half, values.mean() + half)
    )
    # epochs to the 0.7 target: keras-jax's validation curve is a point lower, seed 0 gets there at epoch 3
    epochs = row(engines.seed_table, backend="keras-jax", cell="lstm", metric="epochs_to_acc")
    assert epochs["mean"] == pytest.approx(7 / 3)
    table = next(b for b in build(engines) if isinstance(b, Table) and b.name == "accuracy")
    first = dict(zip(table.header, table.rows[0]))
    assert (first["backend"], first["test accuracy"], first["test loss"]) == (
        "keras",
        "0.820 [0.770, 0.870]",
        "0.500 [0.500, 0.500]",
    )


def test_learning_curve_bands_are_the_t_interval_over_seeds():
    epochs = load_runs([FIXTURES / "engines"]).epochs
    band = row(charts.curve_bands(epochs), backend="keras", cell="lstm", epoch=1)
    values = np.array([KERAS_VAL[0] + 0.01 * s for s in (0, 1, 2)])  # seeds 0-2: 0.60, 0.61, 0.62
    half = T_975_2 * values.std(ddof=1) / math.sqrt(3)
    assert (band["val_acc_mean"], band["val_acc_low"], band["val_acc_high"]) == pytest.approx(
        (values.mean(), values.mean() - half, values.mean() + half)
    )


# -- speed: shared machines and kinds of host -----------------------------------------------------------


def test_speed_comparisons_use_jobs_alone_on_one_kind_of_host(engines):
    h2h = engines.head_to_head
    jax = row(h2h, cell="lstm", compared="keras-jax", metric="step_ms_median")
    assert (jax["n_baseline"], jax["n_compared"]) == (3, 2)  # seed 1 ran on another kind of host
    assert jax["change"] == pytest.approx(0.8, rel=0.03)  # 16 / 20 ms; with the 8-ms job it would be 0.4
    assert jax["verdict"] == "keras-jax 1.25× faster than keras"
    torch = row(h2h, cell="gru", compared="torch", metric="step_ms_median")
    assert (torch["n_baseline"], torch["n_compared"]) == (3, 2)  # seed 2 shared its machine
    assert row(h2h, cell="gru", compared="torch", metric="time_to_acc_s")["n_compared"] == 2
    # accuracy stays valid on a shared machine: all three seeds, paired
    test_acc = row(h2h, cell="gru", compared="torch", metric="test_acc")
    assert (test_acc["n_baseline"], test_acc["n_compared"], test_acc["test"]) == (3, 3, "paired t (seeds)")


def test_summary_time_columns_leave_out_shared_and_other_host_jobs(engines):
    torch = row(engines.summary, backend="torch", cell="gru")
    assert torch["step_ms_median"] == pytest.approx(20.0, rel=0.02)  # 80 ms with the shared job
    assert torch["test_acc"] == pytest.approx(acc("torch", "gru").mean())  # all three seeds
    stat = row(engines.seed_table, backend="torch", cell="gru", metric="step_ms_median")
    assert (stat["seeds"], stat["eligible"], stat["n"]) == (3, 2, 2)
    assert row(engines.seed_table, backend="torch", cell="gru", metric="epochs_to_acc")["n"] == 3
    assert row(engines.summary, backend="keras-jax", cell="lstm")["step_ms_median"] == pytest.approx(16.0, rel=0.02)


def test_the_speed_charts_leave_out_the_same_jobs_and_say_so(engines):
    view = hosts.speed_view(engines.jobs)
    assert set(engines.jobs["job_id"]) - set(view["job_id"]) == {SHARED_JOB, OTHER_KIND_JOB}
    assert hosts.left_out(engines.jobs, view) == (
        f"Left out: 1 job(s) that shared their machine ({SHARED_JOB}); 1 job(s) on another kind of host than the "
        f"rest of their cell ({OTHER_KIND_JOB})."
    )


def test_notes_say_where_the_jobs_ran_and_one_run_on_two_kinds_is_no_banner(engines):
    notes = engines.notes
    assert any(n.startswith("1 job(s) shared their machine") and n.endswith(f"valid: {SHARED_JOB}") for n in notes)
    assert "keras's jobs ran on 2 hosts of one kind (Test CPU @ 2.0GHz): testhost (5 jobs), testhost-b (1 job)" in notes
    assert any(
        n.startswith("keras-jax's jobs ran on 2 kinds of host")
        and f"Other CPU @ 3.0GHz: {OTHER_KIND_JOB}" in n
        and n.endswith("compared only with jobs on the same kind of host")
        for n in notes
    )
    assert engines.banners == []


def test_speed_charts_group_by_engine(engines):
    steps = load_runs([FIXTURES / "engines"]).steps
    figure = charts.step_times(steps, charts.palette(engines.jobs["backend"]), several=False)
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["lstm", "gru"]
    for ax in panels:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["keras", "keras-jax", "torch", "torch-compile"]


# -- the headline ---------------------------------------------------------------------------------------


def test_the_headline_names_the_fastest_engine_and_the_accuracy_spread(engines):
    lstm, gru = engines.headline.split(" · ")
    assert lstm.startswith(
        "lstm: fastest keras-jax 16.0 ms/step on Test CPU @ 2.0GHz (keras 1.25× slower than keras-jax); "
    )
    low, high = acc("keras-jax", "lstm").mean(), acc("torch", "lstm").mean()
    assert lstm.endswith(
        f"test acc {low:.3f} (keras-jax) to {high:.3f} (torch-compile), spread {(high - low) * 100:.1f} pts"
    )
    assert gru.startswith("gru: fastest keras-jax 18.1 ms/step (torch 1.11× slower than keras-jax); ")
    assert gru.endswith("(means over 3 seeds)")


def test_the_headline_says_when_speed_cannot_be_compared(tmp_path):
    records = [record(b, "lstm", 0, test_acc=0.8, rng_seed=k) for k, b in enumerate(("keras", "torch"))]
    for r in records:
        r["execution"] = {"executor": "dask", "host": "testhost", "shared_machine": True, "cpus": [0]}
    data = analysed_records(tmp_path, records)
    assert data.headline == "lstm: speed not compared (every job shared its machine); test acc 0.800 on all 2 backends"
    assert headline(data.jobs.iloc[:1], load_runs([tmp_path / "r"]).steps) == (
        "lstm: speed not compared (every job shared its machine); test acc 0.800 (keras)"
    )


# -- the command ------------------------------------------------------------------------------------------


def test_bench_report_on_engines_writes_the_new_sections_and_ends_with_the_headline(runs, bench):
    run = runs("engines")[0]
    result = bench("report", run)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "headline: " + analysed(run).headline
    out = run / "report"
    markdown = (out / "report.md").read_text()
    for heading in ("## Accuracy over seeds", "### Paired with keras", "## Engines", "### Where engines still differ"):
        assert heading in markdown
    assert "Left out: 1 job(s) that shared their machine (torch-gru-s2)" in markdown  # the speed charts' captions
    assert mpimg.imread(out / "seed_accuracy.png").shape[1] > 300
    report = json.loads((out / "report.json").read_text())
    assert report["reference"] == "keras" and report["headline"] == analysed(run).headline
    assert (len(report["engines"]), len(report["paired"]), len(report["differences"])) == (8, 12, 2)
    assert (out / "engines.csv").is_file() and (out / "paired.csv").is_file()


def test_reference_chooses_the_backend_compared_with(runs, bench):
    run = runs("engines")[0]
    result = bench("report", run, "--reference", "torch", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads((run / "report" / "report.json").read_text())
    assert report["reference"] == "torch"
    assert {r["baseline"] for r in report["head_to_head"]} == {"torch"}
    assert {r["compared"] for r in report["head_to_head"]} == {"keras", "keras-jax", "torch-compile"}
    assert {r["reference"] for r in report["paired"]} == {"torch"}


def test_a_reference_not_in_the_report_is_a_one_line_error(runs, bench):
    result = bench("report", runs("engines")[0], "--reference", "keras-xla", "--format", "csv")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --reference keras-xla: no such backend in the report (its backends: keras, keras-jax, torch, "
        "torch-compile); choose one of them"
    )
