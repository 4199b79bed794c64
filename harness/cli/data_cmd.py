"""``bench data``: prepare (or read from the cache) the data set and describe what every backend will see."""

from __future__ import annotations

import json
from typing import Any

import click

from harness.data import Dataset, load_dataset
from harness.spec import Spec

from .options import build_spec, data_option, pop_spec_overrides, spec_options

_COLUMNS = (  # header, stats key, format
    ("reviews", "n", "{:d}"),
    ("pos", "positive", "{:d}"),
    ("neg", "negative", "{:d}"),
    ("pos share", "positive_share", "{:.1%}"),
    ("mean len", "length_mean", "{:.1f}"),
    ("median", "length_median", "{:.0f}"),
    ("max", "length_max", "{:d}"),
    ("truncated", "truncated_share", "{:.1%}"),
    ("OOV", "oov_rate", "{:.2%}"),
)


@click.command("data", short_help="Prepare the data (cached) and describe what every backend sees.")
@data_option
@spec_options
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
def data(data: str | None, as_json: bool, config: str | None, **spec_fields: Any) -> None:
    """Prepare the data set (cached after the first time) and print its source, hash, split sizes, label
    balance, review lengths before padding (in words), share truncated at maxlen, OOV rate and the
    fingerprint of the arrays every backend receives."""
    spec = build_spec(config, pop_spec_overrides(spec_fields))
    ds = load_dataset(spec, data, progress=True)
    summary = describe(ds, spec)
    click.echo(json.dumps(summary, indent=2) if as_json else render(summary))


def describe(ds: Dataset, spec: Spec) -> dict[str, Any]:
    return {
        "source": ds.source,
        "source_hash": ds.source_hash,
        "fingerprint": ds.fingerprint,
        "spec": {"vocab_size": spec.vocab_size, "maxlen": spec.maxlen, "validation_split": spec.validation_split},
        "splits": ds.stats,
    }


def render(summary: dict[str, Any]) -> str:
    spec = summary["spec"]
    lines = [
        f"source       {summary['source']}",
        f"source hash  {summary['source_hash']}",
        f"encoding     vocab_size {spec['vocab_size']}, maxlen {spec['maxlen']}, validation_split {spec['validation_split']}",
        f"fingerprint  {summary['fingerprint']}",
        "",
    ]
    rows = [["split", *(header for header, _, _ in _COLUMNS)]]
    for split, stats in summary["splits"].items():
        rows.append([split, *("-" if stats[key] is None else fmt.format(stats[key]) for _, key, fmt in _COLUMNS)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
    lines.append(
        "lengths in words before padding (start token excluded); truncated: longer than maxlen with the start token"
    )
    return "\n".join(lines)
