"""Issue 5: ``bench report`` on a run the size of the default IMDB matrix (6 jobs x 10 epochs x 157 steps)
takes under 10 s, start-up included. The run is generated (tests/report/scenarios.py: ``big``), not committed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_report_on_a_default_sized_run_takes_under_10_s(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "time_report.py"), "--keep", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "big" / "report" / "index.html").is_file()
