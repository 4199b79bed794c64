"""bench check / bench baseline save on factory-built runs (no training): verdicts, exit codes, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.check.baseline import BASELINE_KIND, dumps, load_baseline_file
from harness.cli import cli
from tests.fixtures.factory import DATA, ENVIRONMENT, TINY, make_record, write_run

FIXTURES = Path(__file__).parent / "fixtures"
#: Ten epochs of 10 steps: 98 timed steps a job, enough blocks for the rank test to be decisive.
EPOCHS = (0.60, 0.66, 0.70, 0.72, 0.73, 0.74, 0.75, 0.75, 0.76, 0.76)
GROUPS = (("keras", "lstm"), ("torch", "lstm"), ("keras", "gru"))


def records(rng_seed: int, seeds=(0,), overrides: dict | None = None, **common) -> list[dict]:
    """One record per backend x cell x seed; ``overrides[(backend, cell)]`` changes one group only."""
    out = []
    for backend, cell in GROUPS:
        for seed in seeds:
            kwargs = {"val_accs": EPOCHS, **common, **(overrides or {}).get((backend, cell), {})}
            out.append(make_record(backend, cell, seed, rng_seed=rng_seed + 100 * seed, **kwargs))
    return out


def bench(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def runs(tmp_path: Path):
    """write(name, **kwargs) -> run folder, with the baseline "base" already written."""

    def write(name: str, rng_seed: int = 1, **kwargs) -> Path:
        return write_run(tmp_path, name, records(rng_seed, **kwargs))

    write("base", rng_seed=0)
    return write


def check(tmp_path: Path, candidate: str, *extra: str, baseline: str | None = None) -> tuple[int, str, str]:
    return bench(
        "check",
        "--baseline",
        baseline or str(tmp_path / "base"),
        "--candidate",
        str(tmp_path / candidate),
        "--results",
        str(tmp_path),
        *extra,
    )


def rows(stdout: str) -> list[dict]:
    return json.loads(stdout)["rows"]


def row(report_rows: list[dict], backend: str, cell: str, metric: str) -> dict:
    return next(r for r in report_rows if (r["backend"], r["cell"], r["metric"]) == (backend, cell, metric))


# -- verdicts -----------------------------------------------------------------------------------------


def test_same_code_passes(tmp_path, runs):
    runs("cand")
    code, out, err = check(tmp_path, "cand")
    assert code == 0, out + err
    assert out.startswith("bench check: PASS") and "regression" not in out.lower().replace("no regression", "")
    assert "raw step times: same machine" in out


def test_slowdown_fails_with_the_markdown_table_saying_so(tmp_path, runs):
    runs("cand", overrides={("keras", "lstm"): {"step_ms": 25.0}})
    code, out, _ = check(tmp_path, "cand", "--format", "md")
    assert code == 1
    assert out.startswith("### ❌ bench check: REGRESSION: 1 of")
    line = next(x for x in out.splitlines() if x.startswith("| keras | lstm | step time"))
    change = float(line.split(" | ")[6].rstrip("%"))  # +25% injected, with 5% step noise
    assert "❌ **regression**" in line and 20 < change < 30
    assert "| torch | lstm | step time" in out and "✅ no significant change" in out


def test_accuracy_drop_fails(tmp_path, runs):
    runs("cand", overrides={("torch", "lstm"): {"test_acc": 0.70}})  # baseline 0.74
    code, out, _ = check(tmp_path, "cand", "--format", "json")
    assert code == 1
    r = row(rows(out), "torch", "lstm", "test acc")
    assert r["verdict"] == "regression" and r["change"] == pytest.approx(-0.04)
    assert row(rows(out), "torch", "lstm", "best val acc")["verdict"] == "no significant change"
    assert json.loads(out)["result"] == "regression"


def test_drop_within_the_threshold_passes(tmp_path, runs):
    runs("cand", overrides={("torch", "lstm"): {"test_acc": 0.73}})  # exactly 0.01: not more than the threshold
    assert check(tmp_path, "cand")[0] == 0


def _accs(level: float) -> dict:
    return {g: {"val_accs": EPOCHS[:-1] + (level,), "test_acc": level} for g in GROUPS}


def test_different_seeds_compare_means_with_welch(tmp_path):
    base = records(0, seeds=(0, 1, 2), overrides=_accs(0.76))
    cand = records(1, seeds=(3, 4, 5), overrides=_accs(0.70))
    for i, r in enumerate(base + cand):  # seed-to-seed spread, so the t-test has a variance to work with
        r["test"]["acc"] += 0.002 * (i % 3)
    write_run(tmp_path, "base", base)
    write_run(tmp_path, "cand", cand)
    code, out, _ = check(tmp_path, "cand", "--format", "json")
    r = row(rows(out), "keras", "gru", "test acc")
    assert code == 1 and r["verdict"] == "regression"
    assert r["method"].startswith("Welch t-test, 3 vs 3 seeds") and r["p_value"] < 0.01
    assert r["seeds"] == "0,1,2 vs 3,4,5"


def test_same_seeds_are_paired_reruns_that_must_all_drop(tmp_path):
    """Same seeds are deterministic reruns: with fewer seeds than the signed-rank test needs (8 at alpha
    0.01), a mean drop beyond the threshold on every seed is a regression; the paired test is shown."""
    base = records(0, seeds=(0, 1, 2), overrides=_accs(0.76))
    cand = records(1, seeds=(0, 1, 2), overrides=_accs(0.70))
    for i, r in enumerate(base + cand):
        r["test"]["acc"] += 0.01 * (i % 3) * (1 if i < len(base) else -1)  # uneven drops: a variance to test
    write_run(tmp_path, "base", base)
    write_run(tmp_path, "cand", cand)
    code, out, _ = check(tmp_path, "cand", "--format", "json")
    r = row(rows(out), "keras", "gru", "test acc")
    assert code == 1 and r["verdict"] == "regression" and r["seeds"] == "0,1,2"
    assert r["method"] == "same seeds: 3 paired changes; under 8 seeds every seed must move the same way"
    assert r["detail"].endswith("on all 3 seeds") and r["p_value"] == pytest.approx(0.25)  # 2 / 2^3
    assert r["change"] == pytest.approx(-0.06 - 0.01 * (0 + 1 + 2) * 2 / 3)
    assert r["low"] < r["change"] < r["high"]  # the 99% t-interval of the mean paired change, in points


def _paired(base: list[float], cand: list[float]):
    from harness.check.accuracy import accuracy_row
    from harness.check.verdict import Thresholds

    return accuracy_row("keras", "lstm", "test acc", dict(enumerate(base)), dict(enumerate(cand)), Thresholds())


def test_a_mean_drop_carried_by_one_seed_is_not_a_regression():
    for cand in ([0.75, 0.81], [0.75, 0.80]):  # one seed fell 5 points, the other rose 1 or held exactly
        r = _paired([0.80, 0.80], cand)
        assert r.change < -0.01 and r.verdict.value == "no significant change"
        assert "but on 1 of 2 seeds only" in r.detail
    assert _paired([0.80, 0.80], [0.75, 0.79]).verdict.value == "regression"  # both fell: as strong as 2 seeds get


def test_eight_seeds_or_more_need_a_significant_signed_rank_test():
    base = [0.80] * 8
    all_drop = [0.80 - 0.02 - 0.001 * k for k in range(8)]
    r = _paired(base, all_drop)
    assert r.verdict.value == "regression" and r.p_value == pytest.approx(2 / 256)
    assert r.method == "same seeds: 8 paired changes, Wilcoxon signed-rank" and "p=0.0078 < 0.01" in r.detail
    # Seven seeds drop, the smallest change is a rise: W+ = 1, p = 4 / 256, not below 0.01, though the mean
    # drop (0.021) is beyond the threshold.
    mixed = [0.80 + 0.0005] + all_drop[1:]
    r = _paired(base, mixed)
    assert r.verdict.value == "no significant change" and r.p_value == pytest.approx(4 / 256)
    assert "not significant (p=0.016)" in r.detail


def test_several_runs_a_side_are_pooled(tmp_path):
    """Interleaved rounds: --baseline and --candidate take several runs (repeated or comma-separated);
    their jobs are pooled, a deterministic seed counts once, and a slowdown is still found."""
    for i in range(2):
        write_run(tmp_path, f"base-{i}", records(10 + i))
        write_run(tmp_path, f"cand-{i}", records(20 + i, overrides={("torch", "lstm"): {"step_ms": 26.0}}))
    code, out, _ = bench(
        "check",
        "--baseline",
        str(tmp_path / "base-0"),
        "--baseline",
        str(tmp_path / "base-1"),
        "--candidate",
        "cand-0,cand-1",
        "--results",
        str(tmp_path),
        "--format",
        "json",
    )
    report = json.loads(out)
    assert code == 1 and report["baseline"]["jobs"] == 6 and report["candidate"]["name"] == "cand-0,cand-1"
    speed = row(report["rows"], "torch", "lstm", "step time")
    assert speed["verdict"] == "regression" and "2 vs 2 jobs" in speed["method"]
    assert "with any one job left out +" in speed["detail"]  # the range a regression had to clear, per row
    assert row(report["rows"], "keras", "lstm", "step time")["verdict"] == "no significant change"
    assert row(report["rows"], "keras", "lstm", "test acc")["method"].startswith("same seed: a deterministic rerun")
    saved = tmp_path / "pooled.json"
    code, out, _ = bench("baseline", "save", "base-0", "base-1", "--out", str(saved), "--results", str(tmp_path))
    assert code == 0 and "6/6 jobs ok" in out
    assert json.loads(saved.read_text())["source"]["run"] == "base-0,base-1"


def test_failed_candidate_job_is_a_regression(tmp_path, runs):
    cand = records(1)
    cand[0] = make_record("keras", "lstm", 0, val_accs=EPOCHS, status="timeout")
    write_run(tmp_path, "cand", cand)
    code, out, _ = check(tmp_path, "cand")
    assert code == 1 and "FAILED" in out and "keras-lstm-s0 timeout" in out


def test_improvement_is_reported_and_passes(tmp_path, runs):
    runs("cand", overrides={("keras", "gru"): {"step_ms": 14.0}})
    code, out, _ = check(tmp_path, "cand", "--format", "json")
    assert code == 0 and row(rows(out), "keras", "gru", "step time")["verdict"] == "improvement"


def test_groups_on_one_side_only_are_listed_not_failed(tmp_path, runs):
    write_run(tmp_path, "cand", [r for r in records(1) if r["cell"] == "lstm"])
    code, out, _ = check(tmp_path, "cand", "--format", "json")
    assert code == 0 and row(rows(out), "keras", "gru", "job")["verdict"] == "not compared"


# -- machine drift ------------------------------------------------------------------------------------


def test_uniformly_slower_machine_is_normalised_away(tmp_path, runs):
    slower = {"step_ms": 30.0, "calibration_s": 0.3, "environment": {**ENVIRONMENT, "hostname": "ci-runner-7"}}
    runs("cand", **slower)  # every step and the calibration 1.5x slower
    code, out, err = check(tmp_path, "cand")
    assert code == 0, out + err
    assert "normalised by calibration: host testhost vs ci-runner-7" in out
    assert check(tmp_path, "cand", "--normalize", "never")[0] == 1  # the normalisation did the work


def test_calibration_moved_on_the_same_host_also_normalises(tmp_path, runs):
    runs("cand", step_ms=30.0, calibration_s=0.3)
    code, out, _ = check(tmp_path, "cand")
    assert code == 0 and "beyond the 25% tolerance" in out and "+50%" in out


def test_thread_change_is_not_normalised_away(tmp_path, runs):
    runs("cand", step_ms=30.0, environment={**ENVIRONMENT, "threads": 1})
    code, out, _ = check(tmp_path, "cand")
    assert code == 1 and "threads differ: baseline 2, candidate 1" in out


# -- refusals: exit 2, one line, no traceback ---------------------------------------------------------


def assert_refused(result: tuple[int, str, str], *words: str) -> None:
    code, out, err = result
    assert code == 2, out + err
    assert out == "" and err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    for word in words:
        assert word in err


def test_refuses_another_spec(tmp_path, runs):
    runs("cand", spec=TINY.replace(units=16))
    assert_refused(check(tmp_path, "cand"), "specs differ", "units 8 vs 16")


def test_refuses_other_data(tmp_path, runs):
    runs("cand", data={**DATA, "fingerprint": "e" * 64})
    assert_refused(check(tmp_path, "cand"), "different data", "ffffffffffff vs eeeeeeeeeeee")


def test_refuses_another_mode(tmp_path, runs):
    """Native-mode jobs start from other weights and train with another optimizer: not a rerun of matched."""
    runs("cand", mode="native")
    assert_refused(
        check(tmp_path, "cand"),
        "baseline and candidate ran in different modes (matched vs native)",
        "rerun the candidate with the baseline's --mode",
    )


def test_refuses_a_gpu_run_against_a_cpu_run(tmp_path, runs):
    runs("gpu", runtime={"device": "cuda:0", "device_requested": "gpu"})
    assert_refused(check(tmp_path, "gpu"), "trained on different devices (cpu vs gpu)", "bench run --device")
    # Mixed devices on one side (--device auto where only some engines saw a GPU) are not the other side's.
    runs("mixed", overrides={("torch", "lstm"): {"runtime": {"device": "cuda:0"}}})
    assert_refused(check(tmp_path, "mixed"), "different devices (cpu vs cpu/gpu)")
    # The same device on both sides compares as before.
    runs("gpu2", rng_seed=2, runtime={"device": "cuda:0"})
    assert check(tmp_path, "gpu2", baseline=str(tmp_path / "gpu"))[0] == 0


def test_baseline_files_keep_the_device(tmp_path, runs):
    runs("gpu", runtime={"device": "cuda:0"})
    saved = tmp_path / "gpu.json"
    assert bench("baseline", "save", str(tmp_path / "gpu"), "--out", str(saved))[0] == 0
    assert {j["device"] for j in json.loads(saved.read_text())["jobs"]} == {"gpu"}
    runs("cand")
    assert_refused(check(tmp_path, "cand", baseline=str(saved)), "different devices (gpu vs cpu)")
    # A baseline saved before devices were recorded trained on the CPU.
    old = json.loads(saved.read_text().replace('"device": "gpu"', '"device": "cpu"'))
    for job in old["jobs"]:
        del job["device"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert {j.device for j in load_baseline_file(tmp_path / "old.json").jobs} == {"cpu"}


def test_refuses_bad_baseline_files(tmp_path, runs):
    runs("cand")
    assert_refused(check(tmp_path, "cand", baseline=str(tmp_path / "nope.json")), "not found")
    good = tmp_path / "good.json"
    assert bench("baseline", "save", str(tmp_path / "base"), "--out", str(good))[0] == 0
    text = good.read_text()
    cases = {
        "corrupt.json": (text[: len(text) // 2], "not valid JSON"),
        "version.json": (text.replace('"schema_version": 1', '"schema_version": 99', 1), "schema version 99"),
        "kind.json": (json.dumps({"kind": "something else"}), "not an rnn-bench baseline"),
        "invalid.json": (text.replace('"step_s": [', '"step_s": ["x", ', 1), "is invalid"),
    }
    for name, (content, words) in cases.items():
        (tmp_path / name).write_text(content)
        assert_refused(check(tmp_path, "cand", baseline=str(tmp_path / name)), words)


def test_refuses_missing_candidate_and_self_comparison(tmp_path, runs):
    assert_refused(check(tmp_path, "nope"), "candidate run")
    assert_refused(bench("check", "--baseline", "base", "--results", str(tmp_path)), "is on both sides")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_refused(bench("check", "--baseline", str(tmp_path / "base"), "--results", str(empty)), "no runs under")


# -- baseline files -----------------------------------------------------------------------------------


def test_baseline_save_then_check_round_trip(tmp_path, runs):
    runs("cand", overrides={("keras", "lstm"): {"step_ms": 25.0}})
    out_file = tmp_path / "baselines" / "ci.json"
    code, out, _ = bench("baseline", "save", "base", "--out", str(out_file), "--results", str(tmp_path))
    assert code == 0 and "3/3 jobs ok, 294 timed steps" in out
    data = json.loads(out_file.read_text())
    assert data["kind"] == BASELINE_KIND and data["source"]["run"] == "base"
    from_file = check(tmp_path, "cand", "--format", "json", baseline=str(out_file))
    from_run = check(tmp_path, "cand", "--format", "json")
    assert from_file[0] == from_run[0] == 1
    # The file carries everything the check needs; step times are rounded to 0.1 us there (5e-6 of a
    # 20 ms step, up to 1e-5 on a ratio), hence approx.
    for a, b in zip(rows(from_file[1]), rows(from_run[1]), strict=True):
        assert {k: v for k, v in a.items() if not isinstance(v, float)} == {
            k: v for k, v in b.items() if not isinstance(v, float)
        }
        assert {k: v for k, v in a.items() if isinstance(v, float)} == pytest.approx(
            {k: v for k, v in b.items() if isinstance(v, float)}, rel=1e-4, abs=1e-5
        )
    assert json.loads(from_file[1])["baseline"]["kind"] == "baseline file"


def test_baseline_file_lists_numbers_on_one_line():
    text = dumps({"a": [1.5, 2.0, 3e-05], "b": {"c": []}, "d": "x [1, 2]"})
    assert '"a": [1.5, 2.0, 3e-05]' in text and json.loads(text)["d"] == "x [1, 2]"


def test_committed_baseline_fixture_still_loads_and_passes(tmp_path):
    """tests/fixtures/baseline-v1.json was written by bench baseline save (schema version 1) from a
    factory run (keras/lstm, seed 0, rng_seed 0); a change that breaks reading it breaks committed CI
    baselines too."""
    side = load_baseline_file(FIXTURES / "baseline-v1.json")
    assert [j.job_id for j in side.jobs] == ["keras-lstm-s0"] and side.jobs[0].step_s.size == 98
    write_run(tmp_path, "cand", [make_record("keras", "lstm", 0, val_accs=EPOCHS, rng_seed=5)])
    code, out, err = check(tmp_path, "cand", baseline=str(FIXTURES / "baseline-v1.json"))
    assert code == 0, out + err


@pytest.mark.parametrize(
    "base, cand, verdict, method",
    [
        ({0: 0.80}, {0: 0.78}, "regression", "same seed: a deterministic rerun, exact difference; threshold"),
        (
            {0: 0.80, 1: 0.81, 2: 0.79},
            {0: 0.795},
            "no significant change",
            "different seeds, too few for a test: threshold on the means",
        ),
        ({0: 0.80}, {1: 0.70}, "regression", "different seeds, too few for a test: threshold on the means"),
        (
            {0: 0.80, 1: 0.82},
            {2: 0.78, 3: 0.79},
            "no significant change",
            "Welch t-test, 2 vs 2 seeds",
        ),  # drop 0.025, p 0.1
        (
            {0: 0.80, 1: 0.82},
            {0: 0.78, 1: 0.79},
            "regression",
            "same seeds: 2 paired changes; under 8 seeds every seed must move the same way",
        ),
        ({0: 0.80}, {}, "inconclusive", ""),
    ],
)
def test_accuracy_rules(base, cand, verdict, method):
    from harness.check.accuracy import accuracy_row
    from harness.check.verdict import Thresholds

    r = accuracy_row("keras", "lstm", "test acc", base, cand, Thresholds())
    assert (r.verdict.value, r.method) == (verdict, method)
