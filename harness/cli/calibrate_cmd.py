"""``bench check calibrate``: measure this machine's noise with interleaved A/A rounds of the CI smoke spec
and a known injected slowdown, then recommend bench check's thresholds and rounds for it."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import click

from harness.atomic import ensure_writable_dir, write_text
from harness.check import calibrate as cal
from harness.check import rounds
from harness.check.baseline import baseline_from_runs, dumps
from harness.check.render import calibration_text
from harness.errors import BenchError

_open01 = click.FloatRange(0, 1, min_open=True, max_open=True)


@click.command("calibrate")
@click.option(
    "--rounds",
    "n_rounds",
    default=10,
    show_default=True,
    type=click.IntRange(min=2),
    help="Rounds to run, each three runs of the smoke spec (A, B: the code as it is; F: slowed), "
    "interleaved. More rounds, firmer rates: the committed defaults rest on 120.",
)
@click.option(
    "--slowdown",
    default=0.25,
    show_default=True,
    type=click.FloatRange(min=0, max=10, min_open=True),
    help="The slowdown the gate must catch (0.25 = every step 25% slower): injected into the F runs "
    "by busy-waiting, and recorded in their records.",
)
@click.option(
    "--false-alarms",
    default=0.01,
    show_default=True,
    type=_open01,
    help="Target: at most this share of identical-code checks may fail the build.",
)
@click.option(
    "--power",
    default=0.95,
    show_default=True,
    type=_open01,
    help="Target: at least this share of checks of a --slowdown slower candidate must fail the build.",
)
@click.option("--alpha", default=0.01, show_default=True, type=_open01, help="bench check's --alpha to calibrate for.")
@click.option(
    "--smoke",
    default="results/baselines/ci-smoke.args",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The bench run options of the spec CI runs (an args file, as .ci/run reads it).",
)
@click.option(
    "--runs",
    "runs_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Keep the runs in this folder (default: a temporary one, removed at the end). Given again, the "
    "calibration continues there: finished runs are kept, more --rounds added.",
)
@click.option(
    "--analyse-only",
    is_flag=True,
    help="Run nothing: analyse the rounds already in --runs (e.g. with other targets).",
)
@click.option(
    "--max-rounds-a-side",
    default=8,
    show_default=True,
    type=click.IntRange(min=1),
    help="Judge interleaved set-ups of 1 up to this many runs a side.",
)
@click.option(
    "--max-splits",
    default=cal.MAX_SPLITS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Splits of one window checked at most, drawn at random beyond that (every split of 6 rounds a side: 462).",
)
@click.option(
    "--write",
    "write_dir",
    default=None,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write the recommendation there (e.g. results/baselines): ci-smoke.args, ci-smoke.json (a "
    "baseline of this machine), ci-thresholds.args, ci-interleaved.args, ci-rounds; each atomically. "
    "Default: a dry run that only prints it.",
)
def calibrate(
    n_rounds: int,
    slowdown: float,
    false_alarms: float,
    power: float,
    alpha: float,
    smoke: str,
    runs_dir: str | None,
    analyse_only: bool,
    max_rounds_a_side: int,
    max_splits: int,
    write_dir: str | None,
) -> None:
    """Choose bench check's --max-slowdown and rounds for THIS machine.

    \b
    Runs --rounds interleaved rounds of the CI smoke spec (A, B, F: about 3 x the time of one smoke run
    per round), then replays bench check's own speed statistic on them: every split of the identical-code
    runs of k consecutive rounds into two sides of k (false alarms), and each side against the slowed runs
    (power), at every threshold; and one run at a time against a baseline of 3 pooled runs (the committed
    baseline of .ci/run). It recommends the fewest runs a side, and a --max-slowdown, that meet both
    targets, and a --max-slowdown for the committed baseline. Runs on an otherwise idle machine.
    """
    if analyse_only and not runs_dir:
        raise BenchError("--analyse-only reads the runs of an earlier calibration: give its folder with --runs")
    saved = rounds.plan_of(Path(runs_dir)) if analyse_only and runs_dir else None
    plan = saved or rounds.Plan(rounds.read_args_file(Path(smoke)), slowdown)
    target = ensure_writable_dir(write_dir, "--write folder") if write_dir else None
    folder = Path(runs_dir) if runs_dir else Path(tempfile.mkdtemp(prefix="rnn-bench-calibrate-"))
    say = lambda line: click.echo(line, err=True)  # noqa: E731 - progress on stderr, the result on stdout
    try:
        if not analyse_only:
            ensure_writable_dir(folder, "--runs folder")
            rounds.prepare(folder, plan)
            say(f"bench check calibrate: {rounds.describe_plan(plan, n_rounds)}; runs in {folder}")
            rounds.execute(plan, folder, n_rounds, say)
        loaded = rounds.load(folder, None if analyse_only else slowdown)
        if loaded.skipped:
            say(f"{loaded.skipped} incomplete round(s) left out")
        runs = loaded.runs
        ks = range(1, min(max_rounds_a_side, runs.rounds) + 1)
        per_k = []
        for k in ks:
            say(f"analysing: {k} run(s) a side over {runs.rounds // k} window(s) of {k} round(s)")
            per_k.append(cal.interleaved_rates(runs, k, alpha, max_splits))
        committed, chosen = cal.committed_rates(runs, alpha)
        rec = cal.recommend(per_k, committed, runs, false_alarms, power, alpha)
        click.echo(calibration_text(rec, per_k, cal.noise(runs)), nl=False)
        if target is None:
            click.echo(f"dry run: nothing written; --write DIR writes {', '.join(cal.ARGS_FILES)} there")
        else:
            written = _write(target, rec, plan.run_args, [loaded.same_dirs[i] for i in chosen])
            click.echo(f"wrote {', '.join(str(p) for p in written)}")
    except KeyboardInterrupt:
        kept = f"; the finished runs are kept: continue with --runs {folder}" if runs_dir else ""
        click.echo(f"interrupted{kept}", err=True)
        sys.exit(130)
    finally:
        if not runs_dir:
            shutil.rmtree(folder, ignore_errors=True)


def _write(target: Path, rec: cal.Recommendation, run_args: tuple[str, ...], baseline_dirs: list[Path]) -> list[Path]:
    """Every file's text first, then each written atomically: a failure before the writes leaves all as they were."""
    if rec.rounds is None or rec.committed_max_slowdown is None:
        raise BenchError(f"no recommendation to write ({rec.why}); nothing written")
    texts = {**cal.args_texts(rec, run_args), "ci-smoke.json": dumps(baseline_from_runs(baseline_dirs))}
    written = []
    for name in cal.ARGS_FILES:
        write_text(target / name, texts[name])
        written.append(target / name)
    return written
