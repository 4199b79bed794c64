"""The commands the group exposes, one module each, with the one-line summary `bench --help` shows."""

from __future__ import annotations

import click

from .backends_cmd import backends
from .baseline_cmd import baseline
from .check_cmd import check
from .data_cmd import data
from .export_cmd import export
from .parity_cmd import parity
from .report_cmd import report
from .run_cmd import run

SHORT_HELP: dict[click.Command, str] = {
    data: "Prepare the data (cached) and describe what backends see.",
    backends: "List the engines: installed, versions, parity group, options.",
    parity: "Prove the backends compute the same function.",
    run: "Train the backend x cell x seed matrix (fresh process per job).",
    report: "Render comparison tables and charts (md, html, csv) from runs.",
    baseline: "Save a compact baseline of a run for bench check.",
    check: "Exit 1 on a real slowdown or accuracy drop vs a baseline.",
    export: "Export a run in pytest-benchmark's JSON format.",
}

for _command, _text in SHORT_HELP.items():
    _command.short_help = _text

ALL: list[click.Command] = list(SHORT_HELP)
