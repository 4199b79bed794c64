"""``bench export``: a run in another tool's format (pytest-benchmark JSON, for benchmark-history tools)."""

from __future__ import annotations

import click

from harness.atomic import write_text
from harness.check.samples import resolve_run
from harness.export import FORMATS, export_run


@click.command("export")
@click.argument("run")
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(FORMATS),
    help="pytest-benchmark: its --benchmark-json schema, one benchmark per backend x cell, so "
    "pytest-benchmark compare and github-action-benchmark (tool: pytest) read it.",
)
@click.option(
    "--out",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write to FILE (default: standard output).",
)
@click.option(
    "--results",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder holding the runs, when RUN is a run name.",
)
def export(run: str, fmt: str, out: str | None, results: str) -> None:
    """Export RUN (a run folder or a run name under --results).

    Exit codes: 0 exported; 2 bad input, or nothing to export (no finished job has timed steps: every step
    inside the warm-up or a partial batch), in which case nothing is written.
    """
    text = export_run(resolve_run(run, results), fmt)
    if out is None:
        click.echo(text, nl=False)
    else:
        write_text(out, text)
        click.echo(f"wrote {out}", err=True)
