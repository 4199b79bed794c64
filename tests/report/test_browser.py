"""index.html in a real browser: headless Chromium renders the tables and decodes every chart.

Needs Debian's ``chromium`` package. Locally the test is skipped without it; in CI (CI=true) a missing
Chromium is a failure, so the check cannot silently stop running. The screenshots are left in the test's
tmp folder (pytest prints it on failure) for a person to look at.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from check_report_html import find_chromium  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture
def chromium() -> str:
    path = find_chromium()
    if path is None:
        message = "headless Chromium not installed (Debian: apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; CI must install it")
        pytest.skip(message)
    return path


@pytest.mark.parametrize("names", [("seeds",), ("basic", "other-machine")], ids=["seeds", "two-runs"])
def test_index_html_renders_in_headless_chromium(runs, bench, chromium, tmp_path, names):
    paths = runs(*names)
    out = tmp_path / "report"
    assert bench("report", *paths, "--out", out, "--format", "html").exit_code == 0
    check = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "check_report_html.py"),
            str(out / "index.html"),
            "--screenshot-dir",
            str(tmp_path / "shots"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CHROMIUM": chromium},
    )
    assert check.returncode == 0, check.stdout + check.stderr
    for name in ("desktop", "phone"):
        assert (tmp_path / "shots" / f"screenshot-{name}.png").stat().st_size > 10_000
