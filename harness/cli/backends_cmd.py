"""``bench backends``: every registered backend, whether it can run here, and what it is.

Reads package metadata only: no framework is imported in this process (``importlib.util.find_spec`` and
``importlib.metadata``), so the listing is instant and works where a framework is broken or missing.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click

from backends.base import (
    PARITY_GROUPS,
    VARIANT_SEP,
    available_backends,
    framework_versions,
    load_backend,
    missing_package,
)
from harness.errors import BenchError


def describe(name: str, target: str) -> dict[str, Any]:
    """One backend's entry: installed (with the reason when not), versions, description, group, options."""
    entry: dict[str, Any] = {"name": name, "target": target, "installed": False, "reason": None}
    try:
        cls = load_backend(name)
    except BenchError as err:
        empty = {"versions": {}, "description": "", "parity_group": None, "gpu": False, "options": {}}
        return {**entry, "reason": str(err), **empty}
    missing = missing_package(cls)
    config = cls.config_class
    return {
        **entry,
        "installed": missing is None,
        "reason": f"package {missing[1]!r} is not installed (module {missing[0]!r})" if missing else None,
        "versions": framework_versions(cls),
        "description": cls.description,
        "parity_group": cls.parity_group,
        "gpu": cls.gpu_capable,  # can train on a GPU (--device gpu|auto) when its framework sees one
        "options": {f.name: f.default for f in dataclasses.fields(config)} if config else {},
    }


@click.command("backends")
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
def backends(as_json: bool) -> None:
    """List every registered backend: installed or not (and why), framework versions, a one-line
    description, whether it can train on a GPU (--device gpu|auto), its parity group (matched-mode training agrees only inside a group) and its config
    options, which a variant sets on the command line (NAME:KEY=VALUE, e.g. torch:flush_denormal=true).
    """
    entries = [describe(name, target) for name, target in sorted(available_backends().items())]
    if as_json:
        click.echo(json.dumps({"backends": entries, "parity_groups": PARITY_GROUPS}, indent=2, default=str))
        return
    click.echo(render(entries))


def render(entries: list[dict[str, Any]]) -> str:
    rows = [("backend", "installed", "parity group", "GPU", "versions", "description")]
    for e in entries:
        versions = ", ".join(f"{pkg} {v or '?'}" for pkg, v in e["versions"].items())
        installed = "yes" if e["installed"] else f"no: {e['reason']}"
        gpu = "yes" if e["gpu"] else "no"
        rows.append((e["name"], installed, e["parity_group"] or "-", gpu, versions, e["description"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join([*(v.ljust(w) for v, w in zip(r, widths)), r[-1]]).rstrip() for r in rows]
    lines += ["", "Parity groups (matched training agrees inside a group; forward pass and gradients everywhere):"]
    lines += [f"  {group}: {why}" for group, why in PARITY_GROUPS.items()]
    lines += [
        "",
        f"Options (set with a variant, NAME{VARIANT_SEP}KEY=VALUE, e.g. torch{VARIANT_SEP}flush_denormal=true):",
    ]
    for e in entries:
        if e["options"]:
            options = ", ".join(f"{k}={_text(v)}" for k, v in e["options"].items())
            lines.append(f"  {e['name']}: {options}")
    return "\n".join(lines)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
