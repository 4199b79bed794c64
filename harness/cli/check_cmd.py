"""``bench check``: fail a CI build on a real slowdown or accuracy drop, and never on noise. Its subcommand
``bench check calibrate`` (calibrate_cmd) chooses the thresholds for the machine it runs on."""

from __future__ import annotations

import click
from click.core import ParameterSource

from harness.check.baseline import load_candidates, load_sides
from harness.check.compare import CALIBRATION_TOLERANCE, Thresholds, compare
from harness.check.render import FORMATS, render
from harness.errors import BenchError

from .calibrate_cmd import calibrate

_open01 = click.FloatRange(0, 1, min_open=True, max_open=True)


@click.group("check", invoke_without_command=True, subcommand_metavar="[calibrate ...]")
@click.option(
    "--baseline",
    "baseline_refs",
    multiple=True,
    metavar="FILE_OR_RUN",
    help="Required: a baseline file (bench baseline save), a run folder, or a run name under --results. Repeat "
    "it (or give a comma list) for several runs of the baseline: their jobs are pooled.",
)
@click.option(
    "--candidate",
    "candidate_refs",
    multiple=True,
    metavar="RUN",
    help="The run to check: a folder or a run name under --results; repeat it (or give a comma list) "
    "for several runs. Default: the latest run there.",
)
@click.option(
    "--results",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder holding the runs (for run names and the default candidate).",
)
@click.option(
    "--max-slowdown",
    default=0.10,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Largest tolerated rise of the step time (fastest block; 0.10 = 10%): a slowdown users "
    "notice, above the spread of identical code in interleaved rounds. Measure your machine with "
    "bench check calibrate, which recommends it (raise it for noisier machines or a committed "
    "baseline; 1.0 = twice as slow). A regression also needs p < --alpha.",
)
@click.option(
    "--max-acc-drop",
    default=0.01,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Largest tolerated drop of test or best validation accuracy (0.01 = one point). A seed is "
    "a deterministic rerun, so identical code gives identical accuracy; one point leaves room "
    "for numerics changes (a framework upgrade) while catching a broken model.",
)
@click.option(
    "--alpha",
    default=0.01,
    show_default=True,
    type=_open01,
    help="Significance level of every test (and 1 - confidence of the intervals shown): with about a "
    "dozen comparisons per check (3 per backend x cell), 0.01 keeps a chance false alarm rare.",
)
@click.option(
    "--normalize",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "always", "never"]),
    help=f"Divide step times by each side's calibration time: auto = when the machines differ or the "
    f"calibration moved by more than {CALIBRATION_TOLERANCE:.0%}.",
)
@click.option(
    "--format",
    "fmt",
    default="text",
    show_default=True,
    type=click.Choice(FORMATS),
    help="text for a terminal or CI log, md for a CI job summary or pull-request comment, json for tools.",
)
@click.pass_context
def check(
    ctx: click.Context,
    baseline_refs: tuple[str, ...],
    candidate_refs: tuple[str, ...],
    results: str,
    max_slowdown: float,
    max_acc_drop: float,
    alpha: float,
    normalize: str,
    fmt: str,
) -> None:
    """Compare a candidate run against a baseline, per backend x cell. Exit 0 pass, 1 regression, 2 cannot compare.

    \b
    Speed: the warm-up-excluded step times of each job, cut into contiguous blocks (steps are
      autocorrelated, so single steps are not independent samples). A side's speed is its fastest block
      (smallest block median: other tenants of a shared machine only ever add time). A regression needs
      BOTH that up by more than --max-slowdown AND significance: Mann-Whitney U on the block medians with
      p < --alpha and a bootstrap confidence interval of the ratio that excludes 1. Improvements are
      reported the same way (the mirror threshold 1 / (1 + max-slowdown)). Run-to-run noise is large on
      shared machines: give each side several seeds, and several runs interleaved with the other side's.
    Machine drift: when the runs come from different machines (hostname, CPU) or the calibration
      workload timed with every job moved by more than the tolerance, step times are normalised by it,
      and the output says so.
    Accuracy, same seeds on both sides (each a deterministic rerun), paired per seed: the mean change of
      test and best validation accuracy must not drop by more than --max-acc-drop, with evidence: one
      seed's difference is exact; with 2 to 7 seeds every seed must drop (the signed-rank test cannot
      reach p < 0.01 below 8); from 8 seeds a Wilcoxon signed-rank p < --alpha. Different seeds, two or
      more a side: Welch's t-test on the means, a drop beyond --max-acc-drop and p < --alpha.
    A candidate job that failed where the baseline's succeeded is a regression. Runs of another spec,
      data fingerprint or mode, and missing, corrupt or other-version baselines are refused (exit 2).
    """
    if ctx.invoked_subcommand is not None:
        given = [
            p.opts[0] for p in ctx.command.params if ctx.get_parameter_source(p.name) is ParameterSource.COMMANDLINE
        ]
        if given:
            raise click.UsageError(f"{', '.join(given)}: options of bench check itself, not of bench check calibrate")
        return
    if not baseline_refs:
        raise click.UsageError("Missing option '--baseline'.")
    baseline = load_sides(_split(baseline_refs), results)
    candidate = load_candidates(_split(candidate_refs), results)
    same = {p.resolve() for p in baseline.paths} & {p.resolve() for p in candidate.paths}
    if same:
        raise BenchError(f"run {sorted(same)[0]} is on both sides; pass different runs to --baseline and --candidate")
    report = compare(baseline, candidate, Thresholds(max_slowdown, max_acc_drop, alpha, normalize))
    click.echo(render(report, fmt), nl=False)
    ctx.exit(report.exit_code)


def _split(refs: tuple[str, ...]) -> list[str]:
    """Repeated options and comma lists, in order."""
    return [part.strip() for ref in refs for part in ref.split(",") if part.strip()]


check.add_command(calibrate)
