"""The README's result tables, generated from the committed reports under ``results/`` (never typed by hand).

    python -m scripts.docs.readme_tables          # rewrite the tables in README.md
    python -m scripts.docs.readme_tables --check  # exit 1 when README.md and the reports disagree (a test runs it)

Each table sits between ``<!-- table:NAME -->`` and ``<!-- /table:NAME -->`` in README.md; ``TABLES`` says which
report files it is rendered from.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

from harness.atomic import atomic_open

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RESULTS = ROOT / "results"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _num(value: str, fmt: str, scale: float = 1.0) -> str:
    if value in ("", None):
        return "–"
    x = float(value) * scale
    return "–" if math.isnan(x) else format(x, fmt)


def _table(header: list[str], rows: list[list[str]], align: str) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


#: The README lists cells and engines in this order (the engines table's, then anything else by name).
CELLS = ("lstm", "gru", "simplernn")
ENGINES = ("keras", "keras-xla", "keras-jax", "keras-torch", "torch", "torch-compile")


def _cell_rank(cell: str) -> int:
    return CELLS.index(cell) if cell in CELLS else len(CELLS)


def _row_order(key: tuple[str, str]) -> tuple[int, int, str]:
    backend, cell = key
    rank = ENGINES.index(backend) if backend in ENGINES else len(ENGINES)
    return (_cell_rank(cell), rank, backend)


def engines_table(report: Path) -> str:
    """One row per engine x cell: speed, first step, time to target, best validation accuracy, memory, kernels.
    A step time marked † comes from a job whose machine was busy (the report leaves it out of verdicts)."""
    summary = {(r["backend"], r["cell"]): r for r in _rows(report / "summary.csv")}
    engines = {(r["backend"], r["cell"]): r for r in _rows(report / "engines.csv")}
    busy = {(r["backend"], r["cell"]) for r in _rows(report / "conditions.csv") if r["busy"] == "True"}
    rows = []
    for key in sorted(summary, key=_row_order):
        s, e = summary[key], engines.get(key, {})
        rows.append(
            [
                s["backend"],
                s["cell"],
                _num(s["step_ms_median"], ",.1f") + (" †" if key in busy else ""),
                _num(s["first_step_s"], ".2f"),
                _num(e.get("compile_s", ""), ".2f"),
                _num(s["time_to_acc_s"], ",.0f"),
                f"{_num(s['best_val_acc'], '.3f')} ({s['best_epoch']})",
                _num(s["test_acc"], ".3f"),
                _num(s["peak_rss_mb"], ",.0f"),
                e.get("kernel_path") or "–",
                _on_off(e.get("flush_denormal", "")),
            ]
        )
    header = [
        "backend",
        "cell",
        "step ms (median)",
        "first step s",
        "compile s",
        "time to target s",
        "best val acc (epoch)",
        "test acc",
        "peak RSS MB",
        "kernel path",
        "flush-to-zero",
    ]
    return _table(header, rows, "llrrrrrrrll")


def _on_off(value: str) -> str:
    return {"True": "on", "False": "off"}.get(value, "–")


#: The flush-to-zero table compares this backend with its variant that has the switch on.
FLUSH_OFF, FLUSH_ON = "torch", "torch:flush_denormal=true"


def flush_table(report: Path) -> str:
    """Per cell: the median step of torch with flush-to-zero off and on, and the report's verdict on it."""
    summary = {(r["backend"], r["cell"]): r for r in _rows(report / "summary.csv")}
    verdicts = {
        r["cell"]: r
        for r in _rows(report / "head_to_head.csv")
        if (r["baseline"], r["compared"], r["metric"]) == (FLUSH_OFF, FLUSH_ON, "step_ms_median")
    }
    rows = []
    for cell in sorted({c for _, c in summary}, key=_cell_rank):
        off, on = summary.get((FLUSH_OFF, cell)), summary.get((FLUSH_ON, cell))
        if off is None or on is None:
            continue
        v = verdicts.get(cell, {})
        rows.append(
            [
                cell,
                off["seeds"],
                _num(off["step_ms_median"], ",.1f"),
                _num(on["step_ms_median"], ",.1f"),
                f"{float(on['step_ms_median']) / float(off['step_ms_median']):.2f}",
                v.get("verdict") or "–",
            ]
        )
    header = ["cell", "seeds a side", "torch step ms, off", "on", "on / off", "verdict (bench report)"]
    return _table(header, rows, "lrrrrl")


def seeds_table(report: Path) -> str:
    """Mean test accuracy over seeds with its 95% interval, and the paired difference from the reference."""
    stats = [r for r in _rows(report / "summary_seeds.csv") if r["metric"] == "test_acc"]
    paired = {(r["backend"], r["cell"]): r for r in _rows(report / "paired.csv") if r["metric"] == "test_acc"}
    rows = []
    for s in sorted(stats, key=lambda r: _row_order((r["backend"], r["cell"]))):
        p = paired.get((s["backend"], s["cell"]))
        diff = (
            "reference"
            if p is None
            else f"{_num(p['diff'], '+.1f', 100)} pts [{_num(p['ci_low'], '+.1f', 100)}, {_num(p['ci_high'], '+.1f', 100)}], p = {_num(p['t_p'], '.2g')}"
        )
        rows.append(
            [
                s["backend"],
                s["cell"],
                s["n"],
                f"{_num(s['mean'], '.3f')} [{_num(s['ci_low'], '.3f')}, {_num(s['ci_high'], '.3f')}]",
                diff,
            ]
        )
    return _table(["backend", "cell", "seeds", "test acc, mean [95% CI]", "paired vs reference"], rows, "llrll")


#: table name -> (report folder, renderer)
TABLES: dict[str, tuple[Path, Callable[[Path], str]]] = {
    "engines": (RESULTS / "reference" / "report", engines_table),
    "seeds": (RESULTS / "reference-seeds" / "report", seeds_table),
    "flush": (RESULTS / "reference-ftz" / "report", flush_table),
}


def render(readme: str) -> str:
    for name, (report, make) in TABLES.items():
        pattern = re.compile(rf"(<!-- table:{name} -->\n).*?(<!-- /table:{name} -->)", re.S)
        found = pattern.search(readme)
        if found:
            readme = readme[: found.end(1)] + make(report) + "\n" + readme[found.start(2) :]
    return readme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md is not what the reports give")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    new = render(text)
    if args.check:
        if new != text:
            print("README.md tables differ from the committed reports: run python -m scripts.docs.readme_tables")
            return 1
        return 0
    with atomic_open(README) as handle:
        handle.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
