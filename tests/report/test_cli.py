"""``bench report`` end to end on committed fixture runs: the files it writes, and its one-line errors."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import webbrowser

import matplotlib.image as mpimg
import pytest

from harness.report.tables import SUMMARY_COLUMNS

CHARTS = ("learning_curves", "step_times", "accuracy_vs_time", "speed_bars")
SEED_CHARTS = (*CHARTS, "seed_accuracy")  # with several seeds: accuracy per seed


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_a_full_report_writes_every_output(runs, bench, monkeypatch):
    run = runs("basic")[0]
    opened = []
    monkeypatch.setattr(webbrowser, "get", lambda *a: object())
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    result = bench("report", run, "--open")
    assert result.exit_code == 0, result.output
    out = run / "report"  # the default output folder
    assert opened == [(out / "index.html").resolve().as_uri()]
    assert "2 job(s) failed or missing" in result.stderr

    with (out / "summary.csv").open() as handle:
        assert tuple(next(csv.reader(handle))) == SUMMARY_COLUMNS
    for name in ("summary_seeds", "jobs", "epochs", "steps", "head_to_head", "conditions", "problems"):
        assert (out / f"{name}.csv").stat().st_size > 0
    for chart in CHARTS:
        image = mpimg.imread(out / f"{chart}.png")  # decodes
        assert image.shape[0] > 200 and image.shape[1] > 300
        assert (out / f"{chart}.svg").read_text().lstrip().startswith("<?xml")

    markdown = (out / "report.md").read_text()
    assert "| backend | cell | mode | seeds | test_acc |" in markdown
    assert all(f"]({chart}.png)" in markdown for chart in CHARTS)
    assert "torch 2.00× slower than keras" in markdown and "torch-simplernn-s0" in markdown

    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == "rnn-bench/report" and len(report["summary"]) == 4 and len(report["problems"]) == 2


def test_index_html_is_self_contained_with_every_chart_embedded(runs, bench):
    run = runs("seeds")[0]
    assert bench("report", run, "--format", "html").exit_code == 0
    page = (run / "report" / "index.html").read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)  # nothing from the network
    assert "@import" not in page and "url(" not in page
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"[^>]*data-chart="([^"]+)"', page)
    assert sorted(name for _, name in images) == sorted(SEED_CHARTS)
    for data, _ in images:
        assert mpimg.imread(io.BytesIO(base64.b64decode(data)), format="png").size > 0
    for table in (
        "head_to_head",
        "accuracy",
        "paired",
        "engines",
        "summary",
        "summary_speed",
        "confidence",
        "jobs",
        "conditions",
    ):
        assert f'id="table-{table}"' in page


def test_a_corrupt_job_file_is_skipped_with_a_warning_and_the_rest_reported(runs, bench):
    run = runs("basic")[0]
    job = run / "jobs" / "keras-gru-s0.json"
    job.write_text(job.read_text()[:500])  # truncated mid-write
    result = bench("report", run, "--format", "csv")
    assert result.exit_code == 0, result.output
    warning = [line for line in result.stderr.splitlines() if "keras-gru-s0.json" in line]
    assert len(warning) == 1 and warning[0].startswith("warning: skipped job record") and "truncated" in warning[0]
    with (run / "report" / "summary.csv").open() as handle:
        rows = {(r["backend"], r["cell"]) for r in csv.DictReader(handle)}
    assert rows == {("keras", "lstm"), ("torch", "lstm"), ("torch", "gru")}
    with (run / "report" / "problems.csv").open() as handle:
        problems = {r["job_id"]: r for r in csv.DictReader(handle)}
    assert problems["keras-gru-s0"]["status"] == "unreadable"


def test_no_argument_reports_the_latest_run(runs, bench, tmp_path):
    basic, seeds = runs("basic", "seeds")
    manifest = json.loads((basic / "manifest.json").read_text())
    manifest["created_at"] = "2030-01-01T00:00:00+00:00"
    (basic / "manifest.json").write_text(json.dumps(manifest))
    result = bench("report", "--results", tmp_path / "results", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert (basic / "report" / "summary.csv").is_file() and not (seeds / "report").exists()


def test_several_runs_are_combined_with_a_banner_and_refused_with_strict(runs, bench, tmp_path):
    basic, other = runs("basic", "other-spec")
    result = bench("report", "basic", "other-spec", "--results", tmp_path / "results", "--format", "csv,md")
    assert result.exit_code == 0, result.output
    assert "warning: not like for like: the jobs compared do not share the same spec: units" in result.stderr
    out = other / "report-combined"
    with (out / "summary.csv").open() as handle:
        assert tuple(next(csv.reader(handle))) == ("run", *SUMMARY_COLUMNS)
    assert "> [!WARNING]\n> **Not comparable like for like**" in (out / "report.md").read_text()

    error = one_line_error(bench("report", basic, other, "--strict", "--out", tmp_path / "strict"))
    assert "--strict" in error and "units" in error
    assert not (tmp_path / "strict" / "summary.csv").exists()


def test_an_empty_results_folder_is_a_one_line_error(bench, tmp_path):
    (tmp_path / "empty").mkdir()
    error = one_line_error(bench("report", "--results", tmp_path / "empty"))
    assert f"no runs found under {tmp_path / 'empty'}" in error and "bench run" in error


def test_an_unknown_run_or_format_is_a_one_line_error(runs, bench, tmp_path):
    runs("basic")
    error = one_line_error(bench("report", "nope", "--results", tmp_path / "results"))
    assert "no run 'nope'" in error and "runs under" in error and "basic" in error
    error = one_line_error(bench("report", "--results", tmp_path / "results", "--format", "pdf"))
    assert "unknown format 'pdf'" in error and "md, html, csv, json" in error


def test_an_unwritable_output_folder_fails_before_any_work(runs, bench, tmp_path):
    run = runs("basic")[0]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    error = one_line_error(bench("report", run, "--out", blocker / "report"))
    assert "output folder" in error and "not writable" in error


def test_a_read_only_output_folder_fails(runs, bench, tmp_path):
    run = runs("basic")[0]
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: a read-only folder is still writable")
        error = one_line_error(bench("report", run, "--out", locked))
        assert f"output folder {locked} is not writable" in error
    finally:
        locked.chmod(0o700)


def test_no_completed_job_is_a_one_line_error(runs, bench):
    run = runs("basic")[0]
    for job in (run / "jobs").glob("*.json"):
        job.unlink()
    error = one_line_error(bench("report", run, "--format", "csv"))
    assert "no completed job to report" in error and "bench run --resume" in error


def test_open_without_a_browser_says_so(runs, bench, monkeypatch):
    run = runs("basic")[0]

    def no_browser(*args):
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    result = bench("report", run, "--format", "html", "--open")
    assert result.exit_code == 0
    assert f"no web browser found; open {run / 'report' / 'index.html'} yourself" in result.stderr


def test_the_help_documents_the_exit_codes(bench):
    text = bench("report", "--help").output
    assert "Exit codes:" in text and "0  report written" in text and "2  bad input" in text


def test_tidy_tables_are_also_written_as_parquet_where_pyarrow_is_installed(runs, bench):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    run = runs("basic")[0]
    assert bench("report", run, "--format", "csv").exit_code == 0
    steps = pd.read_parquet(run / "report" / "steps.parquet")
    assert len(steps) == 4 * 18 and set(steps["timed"].unique()) == {True, False}
