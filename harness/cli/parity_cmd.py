"""``bench parity``: prove that the backends compute the same thing from the same start."""

from __future__ import annotations

import json
import math

import click

from backends.base import available_backends
from harness.errors import EXIT_OK, EXIT_REGRESSION
from harness.parity import DEFAULT_BACKENDS, DEFAULT_STEPS, TOLERANCES, CellParity, ParityReport, run_parity
from harness.spec import CELLS, Spec

from .options import choose, default_threads, threads_option


@click.command("parity")
@click.option("--cells", "cells", multiple=True, metavar="LIST", help=f"Cells to check (default: {','.join(CELLS)}).")
@click.option(
    "--backends",
    "backends",
    multiple=True,
    metavar="LIST",
    help=f"Backends to compare, the first being the reference (default: {','.join(DEFAULT_BACKENDS)}).",
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
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON instead of tables.")
@click.pass_context
def parity(ctx, cells, backends, steps, dtype, batch_size, length, vocab_size, seed, threads, as_json) -> None:
    """Build every backend from the same initial weights, feed identical generated batches, and compare:
    output probabilities at init, gradients of one batch, parameters and losses after N steps, and
    trainable parameter counts, each against a documented tolerance.

    Exit codes: 0 every check passes; 1 a check failed; 2 bad input (unknown cell or backend, missing
    framework).
    """
    cells = choose("cell", cells, CELLS, CELLS)
    backends = choose("backend", backends, sorted(available_backends()), DEFAULT_BACKENDS)
    spec = Spec(batch_size=batch_size, maxlen=length, vocab_size=vocab_size, seed=seed)
    report = run_parity(
        spec,
        cells=cells,
        backends=backends,
        steps=steps,
        dtype=None if dtype == "auto" else dtype,
        threads=threads or default_threads(),
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        click.echo(render(report))
    ctx.exit(EXIT_OK if report.passed else EXIT_REGRESSION)


# -- text rendering ----------------------------------------------------------------------------------
def render(report: ParityReport) -> str:
    ref = report.backends[0]
    spec = report.spec
    lines = [
        f"bench parity: {' vs '.join(report.backends)} (reference {ref}), matched mode, "
        f"batch {spec.batch_size} x {spec.maxlen}, vocab {spec.vocab_size}, embed {spec.embed_dim}, "
        f"units {spec.units}, seed {spec.seed}, {report.threads} thread(s), {report.steps} steps, "
        f"dtype {report.dtype or 'auto'}",
    ]
    for cell in report.cells:
        lines += ["", *_cell_table(cell)]
    used = {(c.name, c.dtype) for cell in report.cells for c in cell.checks}
    lines += ["", "Tolerances (absolute max |Δ| against the reference backend):"]
    for (name, dtype), tol in TOLERANCES.items():
        if (name, dtype) in used:
            label = name if dtype == "-" else f"{name} {dtype}"
            limit = "exact" if tol.limit == 0 else f"<= {tol.limit:.0e}"
            lines.append(f"  {label:<18} {limit:>8}: {tol.why}")
    failed = [f"{cell.cell}/{c.name}" for cell in report.cells for c in cell.checks if not c.passed]
    total = sum(len(cell.checks) for cell in report.cells)
    lines += ["", f"FAILED: {', '.join(failed)}" if failed else f"parity: all {total} checks pass"]
    return "\n".join(lines)


def _cell_table(cell: CellParity) -> list[str]:
    counts = ", ".join(f"{b} {n:,}" for b, n in cell.param_counts.items())
    head = f"{cell.cell}: trainable parameters {counts} (expected {cell.expected_params:,})"
    rows = [("check", "dtype", "steps", "max |Δ|", "tolerance", "ref scale", "result", "worst tensor")]
    for c in cell.checks:
        worst = max(c.per_tensor.items(), key=lambda kv: kv[1])[0] if c.per_tensor else ""
        rows.append(
            (
                c.name,
                c.dtype,
                str(c.steps),
                _num(c.delta) if c.name != "param_count" else f"{int(c.delta)}",
                _num(c.tolerance) if c.name != "param_count" else "0",
                _num(c.scale) if c.name != "param_count" else "",
                "pass" if c.passed else "FAIL",
                worst,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    table = ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    return [head, *table]


def _num(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.2e}"
