"""index.html in a real browser: headless Chromium renders the tables, decodes every chart, and cuts off no
table column at 1400 px.

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

from scripts.tests.check_report_html import find_chromium

ROOT = Path(__file__).resolve().parents[2]

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


def check_page(page: Path, shots: Path, chromium: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.tests.check_report_html", str(page), "--screenshot-dir", str(shots)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CHROMIUM": chromium},
    )


@pytest.mark.parametrize(
    "names", [("seeds",), ("basic", "other-machine"), ("engines",)], ids=["seeds", "two-runs", "engines"]
)
def test_index_html_renders_in_headless_chromium(runs, bench, chromium, tmp_path, names):
    paths = runs(*names)
    out = tmp_path / "report"
    assert bench("report", *paths, "--out", out, "--format", "html").exit_code == 0
    check = check_page(out / "index.html", tmp_path / "shots", chromium)
    assert check.returncode == 0, check.stdout + check.stderr
    for name in ("desktop", "phone"):
        assert (tmp_path / "shots" / f"screenshot-{name}.png").stat().st_size > 10_000


def test_the_browser_check_fails_when_a_column_is_cut_off(runs, bench, chromium, tmp_path):
    """Negative control: the real page with its wrapping rules undone (every cell on one line) in a narrower
    page, so tables are wider than their boxes, as the summary was before the fix: the check names the
    hidden columns."""
    out = tmp_path / "report"
    assert bench("report", *runs("engines"), "--out", out, "--format", "html").exit_code == 0
    page = out / "index.html"
    unwrapped = "<style>th, td, td.prose, td.wrap { white-space: nowrap; } body { max-width: 1000px; }</style></head>"
    page.write_text(page.read_text().replace("</head>", unwrapped, 1))
    check = check_page(page, tmp_path / "shots", chromium)
    assert check.returncode == 1, check.stdout + check.stderr
    hidden = "desktop (1400 px): table #table-summary_speed cuts off 2 column(s) at its right edge: time_to_acc_s, "
    assert hidden + "first_step_s" in check.stderr  # its last columns
    assert "desktop (1400 px): table #table-head_to_head cuts off" in check.stderr
