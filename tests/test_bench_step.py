"""scripts/benchmarks/bench_step.py: the interleaving order and the ratios it reports (no framework, no timing)."""

import pytest

from scripts.benchmarks import bench_step


def test_interleaved_runs_every_side_on_the_same_batches_in_reversing_order():
    calls: list[tuple[str, int]] = []

    def side(name):
        return lambda x, y: calls.append((name, x))

    batches = [(i, None) for i in range(4)]
    times = bench_step.interleaved([side("a"), side("b"), side("c")], batches, warmup=1, rounds=2, block=2)
    assert calls[:3] == [("a", 0), ("b", 0), ("c", 0)]  # warm-up, untimed
    timed = [name for name, _ in calls[3:]]
    assert timed == ["a", "a", "b", "b", "c", "c", "c", "c", "b", "b", "a", "a"]  # ABC, then CBA
    by_side = {name: [x for n, x in calls[3:] if n == name] for name in "abc"}
    assert by_side["a"] == by_side["b"] == by_side["c"] == [0, 1, 2, 3]
    assert [len(rounds) for rounds in times] == [2, 2, 2] and all(len(b) == 2 for r in times for b in r)


def test_summarize_reports_backend_and_control_against_the_plain_code():
    case = {
        "ours": [[0.2, 0.2], [0.3, 0.3]],
        "plain": [[0.1, 0.1], [0.2, 0.2]],
        "control": [[0.1, 0.1], [0.3, 0.3]],
    }
    ours, plain, ratio, low, high = bench_step.summarize(case)
    assert (ours, plain) == pytest.approx((250.0, 150.0)) and ratio == pytest.approx(250 / 150)
    assert (low, high) == pytest.approx((1.5, 2.0))
    control = bench_step.summarize(case, "control")
    assert control[2] == pytest.approx(200 / 150) and control[3:] == pytest.approx((1.0, 1.5))


def test_save_writes_the_cases_whole_and_nothing_without_a_path(tmp_path):
    target = tmp_path / "cases.jsonl"
    bench_step.save(target, ['{"cell": "lstm"}\n', '{"cell": "gru"}\n'])
    assert target.read_text() == '{"cell": "lstm"}\n{"cell": "gru"}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["cases.jsonl"]  # no temporary file left beside it
    bench_step.save(None, ['{"cell": "lstm"}\n'])
    assert [p.name for p in tmp_path.iterdir()] == ["cases.jsonl"]
