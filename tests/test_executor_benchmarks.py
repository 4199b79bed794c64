"""Smoke tests of the executor benchmark scripts on a tiny matrix: they run end to end and print their
figures. They time nothing here (the machine is shared); the figures come from running them on an idle one."""

from __future__ import annotations

import re

import pytest

from scripts.benchmarks import dask_overhead, parallel_speedup

pytestmark = pytest.mark.slow

TINY = ["--backends", "numpy-fake", "--data", "synthetic:train=200,test=64,seed=3"]
TINY += ["--maxlen", "16", "--vocab-size", "60", "--epochs", "1", "--rounds", "1"]


def test_dask_overhead_prints_the_cost_per_job(tmp_path, test_backends, capsys):
    code = dask_overhead.main([*TINY, "--cells", "lstm", "--seeds", "0-1", "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert re.search(
        r"^round 1: local \d+\.\d{3} s/job, dask \d+\.\d{3} s/job, dask - local [+-]\d+\.\d{3} s/job$", out, re.M
    )
    cost = re.search(
        r"^Dask executor cost: ([+-]\d+\.\d{3}) s per job \(median of 1 round\(s\) of 2 job\(s\); target < 0\.5 s\)$",
        out,
        re.M,
    )
    assert cost and code == (0 if float(cost[1]) < 0.5 else 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dask-1", "local-1"]


def test_parallel_speedup_prints_the_ratio(tmp_path, test_backends, capsys):
    code = parallel_speedup.main([*TINY, "--cells", "lstm,gru", "--seeds", "0", "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert re.search(r"^round 1: local \d+\.\d s, --parallel 2 \d+\.\d s, ratio \d\.\d{3}$", out, re.M)
    ratio = re.search(
        r"^--parallel 2 / local wall time: (\d\.\d{3}) \(median of 1 round\(s\); target <= 0\.6\)$", out, re.M
    )
    assert ratio and code == (0 if float(ratio[1]) <= 0.6 else 1)
