"""The report's tables, from committed fixture runs: every number checked against the fixture's parameters
(see tests/report/scenarios.py for how each is hand-computed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness import stats
from harness.report import head_to_head as hth
from harness.report.tables import SUMMARY_COLUMNS
from harness.spec import Spec
from tests.report.helpers import analysed, analysed_records, row
from tests.report.scenarios import KERAS_VAL, record

# Tiny spec, 170 samples, batch 32: per epoch 5 full steps + one partial of 10 samples; first step 1.5 s.
EPOCH1 = 1.5 + 4 * 0.020 + 0.020 * 10 / 32  # keras, 20 ms steps
EPOCH_N = 5 * 0.020 + 0.020 * 10 / 32
OVERHEAD = 1.004  # the factory's train_s = step_s * 1.004
T_975_2 = 4.302652729911275  # Student t, 97.5% quantile, 2 degrees of freedom


def test_summary_has_exactly_the_issue_columns(runs):
    data = analysed(*runs("basic"))
    assert tuple(data.summary.columns) == SUMMARY_COLUMNS
    assert SUMMARY_COLUMNS == (
        "backend",
        "cell",
        "mode",
        "seeds",
        "test_acc",
        "test_loss",
        "best_val_acc",
        "best_epoch",
        "final_val_acc",
        "step_ms_median",
        "step_ms_p10",
        "step_ms_p90",
        "samples_per_s",
        "train_s",
        "time_to_acc_s",
        "first_step_s",
        "peak_rss_mb",
        "peak_device_mb",  # beside peak RSS: null for jobs on the CPU
        "params",
    )
    # one row per backend x cell; the failed simplernn jobs are not in it
    assert list(zip(data.summary["backend"], data.summary["cell"])) == [
        ("keras", "lstm"),
        ("torch", "lstm"),
        ("keras", "gru"),
        ("torch", "gru"),
    ]


def test_summary_values_match_the_hand_computed_numbers(runs):
    summary = analysed(*runs("basic")).summary
    keras = row(summary, backend="keras", cell="lstm")
    torch = row(summary, backend="torch", cell="lstm")
    assert keras["seeds"] == 1 and keras["mode"] == "matched"
    # every timed step is exactly 20 ms; p10 would be 6.25 ms if the partial batches were not excluded
    assert (keras["step_ms_median"], keras["step_ms_p10"], keras["step_ms_p90"]) == pytest.approx((20.0, 20.0, 20.0))
    assert torch["step_ms_median"] == pytest.approx(40.0)
    # 32 samples per 20 ms (partial batches take proportionally less time): 1,600 samples/s
    assert keras["samples_per_s"] == pytest.approx(1600.0)
    assert torch["samples_per_s"] == pytest.approx(800.0)
    assert keras["train_s"] == pytest.approx((EPOCH1 + 2 * EPOCH_N) * OVERHEAD)
    # val acc 0.6, 0.7, 0.75 against target 0.7: reached at the end of epoch 2
    assert keras["time_to_acc_s"] == pytest.approx((EPOCH1 + EPOCH_N) * OVERHEAD)
    # torch: 0.55, 0.65, 0.72: reached only at epoch 3 (its steps take 40 ms)
    assert torch["time_to_acc_s"] == pytest.approx((1.5 + 4 * 0.04 + 0.0125 + 2 * (5 * 0.04 + 0.0125)) * OVERHEAD)
    assert (keras["best_val_acc"], keras["best_epoch"], keras["final_val_acc"]) == (0.75, 3, 0.75)
    assert (keras["test_acc"], keras["test_loss"], keras["first_step_s"]) == (0.74, 0.5, 1.5)
    assert (keras["peak_rss_mb"], torch["peak_rss_mb"]) == (600.0, 300.0)
    # embedding 200 x 8 + LSTM 4 gates x (8 x 8 input + 8 x 8 recurrent + 8 bias) + dense 8 + 1
    assert keras["params"] == 200 * 8 + 4 * (8 * 8 + 8 * 8 + 8) + 8 + 1 == 2153


def test_best_epoch_is_the_first_epoch_reaching_the_best_validation_accuracy(tmp_path):
    data = analysed_records(tmp_path, [record("keras", "lstm", val_accs=(0.6, 0.8, 0.8, 0.7), test_acc=0.7)])
    keras = row(data.summary, backend="keras")
    assert (keras["best_val_acc"], keras["best_epoch"], keras["final_val_acc"]) == (0.8, 2, 0.7)


def test_several_seeds_give_mean_sd_and_a_t_interval(runs):
    data = analysed(*runs("seeds"))
    stat = row(data.seed_table, backend="keras", cell="lstm", metric="test_acc")
    # keras lstm test accuracy over seeds 0, 1, 2: 0.80, 0.82, 0.84
    assert (stat["seeds"], stat["n"]) == (3, 3)
    assert stat["mean"] == pytest.approx(0.82)
    assert stat["sd"] == pytest.approx(0.02)
    half = T_975_2 * 0.02 / math.sqrt(3)
    assert (stat["ci_low"], stat["ci_high"]) == pytest.approx((0.82 - half, 0.82 + half))
    assert row(data.summary, backend="keras", cell="lstm")["test_acc"] == pytest.approx(0.82)
    assert row(data.summary, backend="keras", cell="lstm")["seeds"] == 3


def test_one_seed_has_no_spread_and_says_so(runs):
    data = analysed(*runs("basic"))
    stat = row(data.seed_table, backend="keras", cell="lstm", metric="test_acc")
    assert math.isnan(stat["sd"]) and math.isnan(stat["ci_low"])
    from harness.report.document import Paragraph, build

    assert any(isinstance(b, Paragraph) and b.text.startswith("One seed per configuration") for b in build(data))


def test_time_to_accuracy_is_undefined_unless_every_seed_got_there(tmp_path):
    records = [
        record("keras", "lstm", seed, val_accs=vals, rng_seed=seed)
        for seed, vals in ((0, KERAS_VAL), (1, KERAS_VAL), (2, (0.5, 0.55, 0.6)))
    ]
    data = analysed_records(tmp_path, records)
    assert math.isnan(row(data.summary, backend="keras")["time_to_acc_s"])
    assert row(data.seed_table, backend="keras", metric="time_to_acc_s")["n"] == 2
    from harness.report.document import Table, build

    summary = next(b for b in build(data) if isinstance(b, Table) and b.name == "summary_speed")
    assert "not reached (2/3 seeds)" in summary.rows[0]


# -- head to head ------------------------------------------------------------------------------------


def verdict(frame, cell: str, metric: str) -> str:
    return row(frame, cell=cell, metric=metric)["verdict"]


def test_a_clear_2x_slowdown_gets_a_verdict_and_noise_does_not(runs):
    h2h = analysed(*runs("basic")).head_to_head
    assert verdict(h2h, "lstm", "step_ms_median") == "torch 2.00× slower than keras"
    assert row(h2h, cell="lstm", metric="step_ms_median")["change"] == pytest.approx(2.0)
    assert row(h2h, cell="lstm", metric="step_ms_median")["test"] == hth.MWU
    assert verdict(h2h, "gru", "step_ms_median") == hth.NO_CLEAR  # same 20 ms, different noise draws


def test_a_2x_speed_up_reads_as_faster(tmp_path):
    data = analysed_records(tmp_path, [record("keras", "lstm", step_ms=40.0), record("torch", "lstm", step_ms=20.0)])
    assert verdict(data.head_to_head, "lstm", "step_ms_median") == "torch 2.00× faster than keras"


def test_with_one_seed_accuracy_differences_are_shown_but_not_tested(runs):
    h2h = analysed(*runs("basic")).head_to_head
    test_acc = row(h2h, cell="lstm", metric="test_acc")
    assert test_acc["change"] == pytest.approx(-0.04)
    assert test_acc["verdict"] == "one seed: accuracy difference can't be tested"
    assert math.isnan(test_acc["p_value"])


def test_with_several_seeds_accuracy_is_tested_across_seeds(runs):
    h2h = analysed(*runs("seeds")).head_to_head
    lstm = row(h2h, cell="lstm", metric="test_acc")
    assert lstm["verdict"] == "torch 10.0 pts lower than keras"
    # matched mode, the same seeds: each seed's two jobs started from the same weights on the same batches,
    # so the test is paired (every difference is exactly -10 points: no spread, an exact p of 0)
    assert lstm["test"] == hth.PAIRED_T and lstm["p_value"] == 0.0
    assert (lstm["n_baseline"], lstm["n_compared"]) == (3, 3)
    assert verdict(h2h, "gru", "test_acc") == hth.NO_CLEAR
    assert verdict(h2h, "lstm", "step_ms_median") == "torch 2.00× slower than keras"
    assert verdict(h2h, "gru", "step_ms_median") == hth.NO_CLEAR


def test_seeds_that_did_not_start_alike_are_compared_with_welch(tmp_path):
    records = []
    for seed, (keras_acc, torch_acc) in enumerate(((0.80, 0.71), (0.82, 0.70), (0.84, 0.75))):
        records.append(record("keras", "lstm", seed, test_acc=keras_acc, rng_seed=seed))
        torch = record("torch", "lstm", seed, test_acc=torch_acc, rng_seed=10 + seed)
        # As in native mode: each backend drew its own weights (and held them).
        torch["weights_fingerprint"] = torch["weights_fingerprint_built"] = f"{seed}" * 64
        records.append(torch)
    data = analysed_records(tmp_path, records)
    test_acc = row(data.head_to_head, cell="lstm", metric="test_acc")
    welch = stats.welch([0.80, 0.82, 0.84], [0.71, 0.70, 0.75])
    assert test_acc["test"] == hth.WELCH and test_acc["p_value"] == pytest.approx(welch.p_value)
    assert test_acc["change"] == pytest.approx(-0.10)
    paired = row(data.paired, cell="lstm", backend="torch", metric="test_acc")
    assert paired["pairs"] == 0 and paired["verdict"].startswith("seeds do not pair")
    assert math.isnan(paired["detectable"])


def test_with_one_seed_the_paired_table_says_so(runs):
    paired = row(analysed(*runs("basic")).paired, cell="lstm", backend="torch", metric="test_acc")
    assert paired["pairs"] == 0 and paired["verdict"] == "one seed: accuracy difference can't be tested"


def test_step_time_verdict_needs_the_seeds_to_agree():
    rng = np.random.default_rng(0)
    # two seeds a side; pooled, torch is 10% slower and the block test is sure of it, but one torch seed
    # (22 ms) is faster than one keras seed (30 ms): seed-to-seed noise as large as the difference
    keras = [rng.normal(20, 0.2, 500), rng.normal(30, 0.2, 500)]
    torch = [rng.normal(22, 0.2, 500), rng.normal(33, 0.2, 500)]
    names = ("keras", "torch")
    overlapping = hth.speed_outcome(keras, torch, names)
    assert overlapping.p_value < 0.01 and overlapping.verdict == hth.NO_CLEAR
    separate = hth.speed_outcome(keras, [a + 20 for a in torch], names)
    assert separate.verdict.startswith("torch") and "slower than keras" in separate.verdict


def test_a_significant_but_tiny_step_difference_is_no_clear_difference():
    rng = np.random.default_rng(1)
    base = rng.normal(20, 0.1, 5000)
    outcome = hth.speed_outcome([base], [base * 1.02], ("keras", "torch"))
    assert outcome.p_value < 1e-6 and outcome.verdict == hth.NO_CLEAR  # 2% < the 5% threshold


def autocorrelated_steps(rng: np.random.Generator, n: int = 1000, phi: float = 0.98) -> np.ndarray:
    """Step times around 20 ms whose noise drifts slowly (AR(1)): a busy neighbour comes and goes."""
    noise = rng.normal(0, 0.6, n)
    x = np.empty(n)
    x[0] = 0.0
    for i in range(1, n):
        x[i] = phi * x[i - 1] + noise[i]
    return 20 * np.exp(x / 10)


def test_correlated_step_noise_alone_is_no_clear_difference():
    from scipy.stats import mannwhitneyu

    raw_would_say, verdicts = 0, []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        keras, torch = autocorrelated_steps(rng), autocorrelated_steps(rng)  # identical distributions
        ratio = np.median(torch) / np.median(keras)
        raw_would_say += mannwhitneyu(keras, torch).pvalue < 0.01 and abs(ratio - 1) > hth.SPEED_MIN_CHANGE
        verdicts.append(hth.speed_outcome([keras], [torch], ("keras", "torch")).verdict)
    # Mann-Whitney U on raw (correlated) steps, even with the 5% threshold, calls most of these pairs
    # different; the block test that bench check also uses calls none.
    assert raw_would_say >= 5
    assert verdicts == [hth.NO_CLEAR] * 10


# -- conditions and banners ---------------------------------------------------------------------------


def test_comparable_jobs_get_no_banner(runs):
    assert analysed(*runs("basic")).banners == []
    assert analysed(*runs("seeds")).banners == []


def test_another_machine_and_thread_count_get_a_banner(runs):
    banners = analysed(*runs("basic", "other-machine")).banners
    assert (
        "the runs compared ran on different kinds of host (CPU model, GPU): Test CPU @ 2.0GHz (run basic); "
        "Other CPU @ 3.0GHz (run other-machine)"
    ) in banners
    assert any("thread count" in b and "1 (run other-machine)" in b for b in banners)
    assert not any("spec" in b or "data fingerprint" in b for b in banners)


def test_another_spec_and_dataset_get_a_banner_naming_the_difference(runs):
    banners = analysed(*runs("basic", "other-spec")).banners
    assert any(
        b.startswith("the jobs compared do not share the same spec: units: 8 (run basic); 16 (run other-spec)")
        for b in banners
    )
    assert any("data fingerprint" in b and "eeeeeeeeeeee (run other-spec)" in b for b in banners)


def test_backends_that_saw_different_batches_get_a_banner(tmp_path):
    torch = record("torch", "lstm")
    torch["batch_order_hash"] = "c" * 64
    banners = analysed_records(tmp_path, [record("keras", "lstm"), torch]).banners
    assert banners == [
        f"lstm seed 0: jobs differ in batch order (the backends did not see the same batches): "
        f"{'b' * 12} (keras-lstm-s0); {'c' * 12} (torch-lstm-s0)"
    ]


def test_busy_machine_and_harness_overhead_are_flagged(tmp_path):
    busy = record("keras", "lstm")
    busy["load"]["busy"] = True
    busy["load"]["end"]["other_cpu"] = 0.35
    slow = record("torch", "lstm")
    for epoch in slow["epochs"]:
        epoch["overhead_s"] = 0.05 * epoch["train_s"]
    data = analysed_records(tmp_path, [busy, slow])
    assert data.flags == [
        "r/keras-lstm-s0 ran on a busy machine (other processes used up to 35% of the CPU): its timings are suspect; "
        "rerun it on an idle machine",
        "r/torch-lstm-s0: harness overhead 5.0% of training time (expected under 1%); its epoch times include harness work",
    ]
    jobs = data.jobs.set_index("job_id")
    assert bool(jobs.loc["keras-lstm-s0", "busy"]) and jobs.loc["torch-lstm-s0", "overhead_share"] == pytest.approx(
        0.05
    )


def test_failed_and_missing_jobs_are_listed(runs):
    problems = analysed(*runs("basic")).problems.set_index("job_id")
    assert problems.loc["keras-simplernn-s0", "status"] == "failed"
    assert problems.loc["keras-simplernn-s0", "reason"] == "fixture job failed"
    assert problems.loc["torch-simplernn-s0", "reason"] == "worker exited with signal 9 (out of memory?)"


def test_several_runs_are_labelled_and_compared(runs):
    data = analysed(*runs("basic", "other-machine"))
    assert list(data.summary.columns) == ["run", *SUMMARY_COLUMNS]
    assert set(data.summary["run"]) == {"basic", "other-machine"}
    keras = row(data.across_runs, backend="keras", cell="lstm", metric="step_ms_median")
    assert (keras["baseline"], keras["compared"]) == ("basic", "other-machine")
    assert keras["change"] == pytest.approx(22 / 20)
    assert keras["verdict"] == "other-machine 1.10× slower than basic"


def test_spec_key_ignores_cell_and_seed():
    from harness.report.load import spec_key

    assert spec_key(Spec(cell="lstm", seed=0).to_dict()) == spec_key(Spec(cell="gru", seed=3).to_dict())
    assert spec_key(Spec(units=16).to_dict()) != spec_key(Spec().to_dict())
