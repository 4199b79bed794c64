"""``bench report``: tables and charts comparing the jobs of one or more runs."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from harness.errors import BenchError

from .options import results_option, split_list


@click.command("report")
@click.argument("runs", nargs=-1, metavar="[RUN ...]")
@results_option
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Output folder (default RUN/report/; several runs: LAST_RUN/report-combined/).",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    metavar="md,html,csv,json",
    help="Outputs to write, comma list or repeated (default: all). md: report.md; html: index.html; "
    "csv: summary.csv and the tidy tables (plus Parquet where pyarrow is installed); json: report.json.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open index.html in a web browser when done.")
@click.option(
    "--reference",
    metavar="BACKEND",
    default=None,
    help="The backend every other backend is compared with in the head-to-head and paired tables "
    "(default: keras when the report has it, else the first backend alphabetically).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse (exit 2) when the jobs do not share spec, data, machine, threads, batches or weights, "
    "instead of reporting them under a warning banner.",
)
def report(
    runs: tuple[str, ...],
    results: str,
    out: str | None,
    formats: tuple[str, ...],
    open_browser: bool,
    reference: str | None,
    strict: bool,
) -> None:
    """Compare the jobs of RUN (a run folder, or a run name under --results); several RUNs are combined
    and compared, each labelled; none: the latest run under --results.

    Writes report.md, a self-contained index.html (charts embedded, readable offline and on a phone),
    summary.csv with the tidy tables, and the charts as PNG and SVG.

    Failed or missing jobs are listed, not dropped; a corrupt or truncated job file is skipped with a
    warning and the rest reported. Ends with a headline: per cell, the fastest backend and the spread of
    accuracy across backends.

    \b
    Exit codes:
      0  report written (warnings, if any, on stderr)
      2  bad input: no runs found, unknown RUN, no completed job, unwritable
         output folder, unknown --format, a --reference not in the report,
         or (--strict) jobs not comparable
    """
    from harness.report import FORMATS, make_report, resolve_runs  # pandas/matplotlib only when needed
    from harness.report.build import default_out

    chosen = split_list(formats) or list(FORMATS)
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise BenchError(f"unknown format {', '.join(map(repr, unknown))}; valid formats: {', '.join(FORMATS)}")
    if open_browser and "html" not in chosen:
        raise BenchError("--open needs the html format; add --format html")
    run_paths = resolve_runs(runs, Path(results))
    out_dir = Path(out) if out else default_out(run_paths)
    result = make_report(run_paths, out_dir, chosen, strict=strict, reference=reference)
    for line in result.warnings:
        click.echo(f"warning: {line}", err=True)
    for line in result.banners:
        click.echo(f"warning: not like for like: {line}", err=True)
    for line in result.flags:
        click.echo(f"warning: {line}", err=True)
    if result.problems:
        click.echo(f"warning: {result.problems} job(s) failed or missing; listed in the report", err=True)
    click.echo(f"report written to {out_dir} ({len(result.files)} files)")
    for name in ("index.html", "report.md", "summary.csv"):
        if (out_dir / name) in result.files:
            click.echo(f"  {out_dir / name}")
    click.echo(f"headline: {result.headline}")
    if open_browser:
        _open(out_dir / "index.html")


def _open(page: Path) -> None:
    try:
        webbrowser.get()
    except webbrowser.Error:
        click.echo(f"no web browser found; open {page} yourself", err=True)
        return
    if not webbrowser.open(page.resolve().as_uri()):
        click.echo(f"could not open a browser; open {page} yourself", err=True)
