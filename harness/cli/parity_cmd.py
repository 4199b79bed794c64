"""``bench parity``: prove that the backends compute the same thing from the same start."""

from __future__ import annotations

import json
import math

import click

from backends.base import PARITY_GROUPS
from harness.atomic import write_text
from harness.errors import EXIT_OK, EXIT_REGRESSION
from harness.parity import (
    ALL_BACKENDS,
    DEFAULT_BACKENDS,
    DEFAULT_STEPS,
    TOLERANCES,
    CellParity,
    Check,
    CrossGroup,
    ParityReport,
    run_parity,
)
from harness.spec import CELLS, Spec

from .options import choose, default_threads, device_option, split_list, threads_option

CHECK_COLUMNS: tuple[str, ...] = ("load", "forward", "gradients", "parameters", "losses")


@click.command("parity")
@click.option("--cells", "cells", multiple=True, metavar="LIST", help=f"Cells to check (default: {','.join(CELLS)}).")
@click.option(
    "--backends",
    "backends",
    multiple=True,
    metavar="LIST",
    help="Backends to compare; the first is the reference, and the first of each parity group that group's "
    "reference. A variant sets config options: torch:optimizer_semantics=dense. 'all': "
    f"{','.join(ALL_BACKENDS)} (those installed). Default: {','.join(DEFAULT_BACKENDS)}.",
)
@click.option(
    "--steps",
    type=click.IntRange(min=0),
    default=DEFAULT_STEPS,
    show_default=True,
    help="Training steps before comparing parameters and losses.",
)
@click.option(
    "--dtype",
    type=click.Choice(["auto", "float32", "float64"]),
    default="auto",
    show_default=True,
    help="auto: float32, except SimpleRNN's multi-step checks in float64 (its float32 training is chaotic). "
    "float32 forced: SimpleRNN's multi-step checks stop after 3 steps.",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=Spec().batch_size, show_default=True)
@click.option("--length", type=click.IntRange(min=1), default=Spec().maxlen, show_default=True, help="Sequence length.")
@click.option("--vocab-size", type=click.IntRange(min=4), default=Spec().vocab_size, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seeds the weights and batches.")
@threads_option
@device_option
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Backend processes at a time (each backend runs in a fresh process of its own).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON instead of tables.")
@click.option(
    "--save",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Also write the full result as JSON to FILE (the tables still go to stdout).",
)
@click.pass_context
def parity(
    ctx, cells, backends, steps, dtype, batch_size, length, vocab_size, seed, threads, device, jobs, as_json, save
) -> None:
    """Build every backend from the same initial weights, feed identical generated batches, and compare:
    output probabilities at init, gradients of one batch, parameters and losses after N steps (inside each
    parity group), and trainable parameter counts, each against a documented tolerance. Between parity
    groups the difference is shown, measured and explained, and does not fail the check.

    Exit codes: 0 every check passes; 1 a check failed; 2 bad input (unknown cell or backend, missing
    framework, --device gpu without a GPU).
    """
    cells = choose("cell", cells, CELLS, CELLS)
    backends = split_list(backends) or list(DEFAULT_BACKENDS)  # checked by run_parity, before any process
    spec = Spec(batch_size=batch_size, maxlen=length, vocab_size=vocab_size, seed=seed)
    report = run_parity(
        spec,
        cells=cells,
        backends=backends,
        steps=steps,
        dtype=None if dtype == "auto" else dtype,
        threads=threads or default_threads(),
        jobs=jobs,
        device=device,
    )
    text = json.dumps(report.to_dict(), indent=2, default=str)
    if save:
        write_text(save, text + "\n")  # a disk's error is a one-line BenchError (harness.atomic)
    if as_json:
        click.echo(text)
    else:
        click.echo(render(report))
    ctx.exit(EXIT_OK if report.passed else EXIT_REGRESSION)


# -- text rendering ----------------------------------------------------------------------------------
def render(report: ParityReport) -> str:
    spec = report.spec
    lines = [
        f"bench parity: {', '.join(report.backends)} (reference {report.backends[0]}), matched mode, "
        f"batch {spec.batch_size} x {spec.maxlen}, vocab {spec.vocab_size}, embed {spec.embed_dim}, "
        f"units {spec.units}, seed {spec.seed}, {report.threads} thread(s), {report.steps} steps, "
        f"dtype {report.dtype or 'auto'}, {_devices(report)}",
        "",
        "Parity groups (training is compared inside a group; forward and gradients across all):",
    ]
    members: dict[str, list[str]] = {}
    for backend in report.backends:
        members.setdefault(report.groups.get(backend) or "-", []).append(backend)
    for group, names in members.items():
        lines.append(f"  {group} (reference {names[0]}): {', '.join(names)}")
        if group in PARITY_GROUPS:
            lines.append(f"    {PARITY_GROUPS[group]}")
    for backend, why in report.skipped.items():
        lines.append(f"  left out: {backend} ({why})")
    for cell in report.cells:
        lines += ["", *_cell_table(cell, report.groups)]
    used = {(c.name, c.dtype) for cell in report.cells for c in cell.checks}
    used |= {("parameters", x.dtype) for cell in report.cells for x in cell.cross_groups}
    lines += ["", "Tolerances (absolute max |Δ| against the reference backend):"]
    for (name, dtype), tol in TOLERANCES.items():
        if (name, dtype) in used:
            label = name if dtype == "-" else f"{name} {dtype}"
            limit = "exact" if tol.limit == 0 else f"<= {tol.limit:.0e}"
            lines.append(f"  {label:<18} {limit:>8}: {tol.why}")
    failed = [
        f"{cell.cell}/{c.name}" + (f" ({c.group})" if c.group else "")
        for cell in report.cells
        for c in cell.checks
        if not c.passed
    ]
    failed += [
        f"{cell.cell}/cross-group {'-'.join(x.groups)}"
        for cell in report.cells
        for x in cell.cross_groups
        if not x.passed
    ]
    total = sum(len(cell.checks) + len(cell.cross_groups) for cell in report.cells)
    lines += ["", f"FAILED: {', '.join(failed)}" if failed else f"parity: all {total} checks pass"]
    return "\n".join(lines)


def _devices(report: ParityReport) -> str:
    """``--device`` and what each backend used (read back from its framework)."""
    used = {b: str(report.runtime.get(b, {}).get("device") or "?") for b in report.backends}
    if len(set(used.values())) == 1:
        return f"device {next(iter(used.values()))} (--device {report.device})"
    return f"--device {report.device}: " + ", ".join(f"{b} on {d}" for b, d in used.items())


def _cell_table(cell: CellParity, groups) -> list[str]:
    counts = set(cell.param_counts.values())
    if counts == {cell.expected_params}:
        head = f"{cell.cell}: trainable parameters {cell.expected_params:,} on every backend"
    else:
        listed = ", ".join(f"{b} {n:,}" for b, n in cell.param_counts.items())
        head = f"{cell.cell}: trainable parameters {listed} (expected {cell.expected_params:,}): FAIL"
    by_column: dict[str, list[Check]] = {}
    for c in cell.checks:
        if c.name in CHECK_COLUMNS:
            by_column.setdefault(c.name, []).append(c)
    columns = [name for name in CHECK_COLUMNS if name in by_column]
    titles = []
    for name in columns:
        first = by_column[name][0]
        dtype = "" if first.dtype == "-" else f" {first.dtype}"
        titles.append(f"{name}{dtype}" + (f" x{first.steps}" if first.steps else ""))
    rows = [("backend", "group", *titles)]
    for backend in cell.param_counts:
        row = [backend, groups.get(backend) or "-"]
        for name in columns:
            row.append(_entry(backend, by_column[name]))
        rows.append(tuple(row))
    rows.append(("tolerance", "", *(_limit(by_column[name][0].tolerance) for name in columns)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    table = ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    note = [f"  multi-step checks in {cell.note}"] if cell.note else []
    return [head, *note, *table, *(_cross_line(x) for x in cell.cross_groups)]


def _entry(backend: str, checks: list[Check]) -> str:
    for c in checks:
        if backend == c.reference:
            return "ref"
        if backend in c.per_backend:
            delta = c.per_backend[backend]
            return _num(delta) + ("" if delta <= c.tolerance else " FAIL")
    return "-"


def _cross_line(x: CrossGroup) -> str:
    verdict = "pass" if x.passed else "FAIL"
    return (
        f"  cross-group {x.groups[1]} vs {x.groups[0]} ({x.references[1]} vs {x.references[0]}, {x.dtype}), "
        f"measured, not a failure: after step 1 the embedding rows of tokens repeated in that batch differ by "
        f"{_num(x.repeated_rows)} (the optimizer semantics), everything else by {_num(x.rest)} "
        f"(<= {_num(x.tolerance)}: {verdict}); after {x.steps} steps parameters {_num(x.parameters)}, "
        f"losses {_num(x.losses)}"
    )


def _num(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.2e}"


def _limit(value: float) -> str:
    return "exact" if value == 0 else _num(value)
