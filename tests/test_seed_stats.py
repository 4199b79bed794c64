"""harness/seed_stats.py on fixed inputs (tests/fixtures/seed_stats.json) and its edge cases."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness import seed_stats

CASES = json.loads((Path(__file__).parent / "fixtures" / "seed_stats.json").read_text())


def nan_for_none(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]


@pytest.mark.parametrize("case", CASES["paired"], ids=[c["name"] for c in CASES["paired"]])
def test_paired_comparison_matches_the_hand_computed_values(case):
    result = seed_stats.paired(nan_for_none(case["a"]), nan_for_none(case["b"]))
    assert result.n == case["n"]
    for field in ("diff", "sd", "low", "high", "t_p", "wilcoxon_p"):
        assert getattr(result, field) == pytest.approx(case[field], rel=1e-6, abs=1e-12), field


def test_one_pair_has_no_spread_no_interval_and_no_test():
    result = seed_stats.paired([0.8], [0.7])
    assert result.n == 1 and result.diff == pytest.approx(-0.1)
    assert all(math.isnan(v) for v in (result.sd, result.low, result.high, result.t_p, result.wilcoxon_p))


def test_paired_samples_must_have_the_same_length():
    with pytest.raises(ValueError, match="same length"):
        seed_stats.paired([0.1, 0.2], [0.1])


@pytest.mark.parametrize("case", CASES["seeds_needed"]["cases"], ids=lambda c: f"d={c['d']}")
def test_seeds_needed_matches_g_power(case):
    ref = CASES["seeds_needed"]
    assert seed_stats.seeds_needed(1.0, case["d"], ref["alpha"], ref["power"]) == case["n"]
    # and in the units of accuracy: sd 2 points, effect d * 2 points
    assert seed_stats.seeds_needed(0.02, case["d"] * 0.02, ref["alpha"], ref["power"]) == case["n"]


def test_the_detectable_difference_is_the_one_reached_with_the_wanted_power():
    ref = CASES["detectable_large_n"]
    assert seed_stats.detectable_difference(ref["sd"], ref["n"], ref["alpha"], ref["power"]) == pytest.approx(
        ref["detectable"], rel=1e-3
    )
    for n in (2, 3, 5, 34):
        delta = seed_stats.detectable_difference(0.01, n)
        assert seed_stats.paired_t_power(delta, 0.01, n) == pytest.approx(0.8, abs=1e-6)
    # more seeds detect less; n = 34 pairs detect half an sd (G*Power: d = 0.5 needs 34)
    assert seed_stats.detectable_difference(1.0, 34) < 0.5 < seed_stats.detectable_difference(1.0, 33)


def test_power_hint_edge_cases():
    assert seed_stats.power_hint(0.0, 3, 0.01) == seed_stats.PowerHint(0.0, 0.01, 2, 0.05, 0.8)
    one = seed_stats.power_hint(math.nan, 1, 0.01)
    assert math.isnan(one.detectable) and one.seeds_for_target is None
    # a huge spread: more seeds than anyone would run
    assert seed_stats.seeds_needed(1.0, 0.01, max_seeds=100) is None
    # two seeds with 0.5 points of spread in the differences: one degree of freedom, so only a gap of more
    # than 5 points would be seen reliably; 1 point (d = 2) needs 5 seeds
    hint = seed_stats.power_hint(0.005, 2, 0.01)
    assert 0.05 < hint.detectable < 0.06 and hint.seeds_for_target == 5
