"""``bench baseline save``: a compact baseline file from a run, to commit and check against later."""

from __future__ import annotations

from pathlib import Path

import click

from harness.check.baseline import save
from harness.check.samples import resolve_run


@click.group("baseline")
def baseline() -> None:
    """Baselines for bench check (commit the ones CI uses under results/baselines/)."""


@baseline.command("save")
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Where to write the baseline (JSON), e.g. results/baselines/ci.json.",
)
@click.option(
    "--results",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder holding the runs, when RUN is a run name.",
)
def save_cmd(runs: tuple[str, ...], out: str, results: str) -> None:
    """Write the spec, data fingerprint, environment, calibration, timed step times, per-epoch and test
    metrics of RUN (a run folder or a run name under --results; several runs of the same code are pooled,
    as bench check pools them) to FILE."""
    data = save([resolve_run(run, results) for run in runs], Path(out))
    jobs = data["jobs"]
    ok = sum(j["status"] == "ok" for j in jobs)
    steps = sum(len(j["step_s"]) for j in jobs)
    click.echo(
        f"wrote baseline {out}: {ok}/{len(jobs)} jobs ok, {steps} timed steps (from run {data['source']['run']})"
    )
    for job in jobs:
        if job["status"] != "ok":
            click.echo(f"warning: job {job['job_id']} {job['status']}: the check will not compare it", err=True)
