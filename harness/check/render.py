"""A check ``Report`` as plain text (terminal, CI log), markdown (CI job summary, pull-request comment)
or JSON (machines). Text and markdown show the same table, built once by ``table_cells``."""

from __future__ import annotations

import json
from dataclasses import asdict
from enum import Enum
from typing import Any

from .compare import Report
from .verdict import Row, Verdict

CHECK_KIND = "rnn-bench/check"
CHECK_SCHEMA_VERSION = 1
FORMATS = ("text", "md", "json")

COLUMNS = ("backend", "cell", "metric", "seeds", "baseline", "candidate", "change", "CI", "p", "verdict", "why")
_MD_MARK = {
    Verdict.REGRESSION: "❌ ",
    Verdict.FAILED: "❌ ",
    Verdict.IMPROVEMENT: "🟢 ",
    Verdict.NO_CHANGE: "✅ ",
    Verdict.INCONCLUSIVE: "⚠️ ",
    Verdict.NOT_COMPARED: "➖ ",
}


def render(report: Report, fmt: str) -> str:
    return {"text": to_text, "md": to_markdown, "json": to_json}[fmt](report)


def headline(report: Report) -> str:
    failures = report.failures
    if failures:
        return f"REGRESSION: {len(failures)} of {len(report.rows)} comparisons failed"
    return f"PASS: {len(report.rows)} comparisons, no regression"


def table_cells(row: Row) -> list[str]:
    if row.metric == "step time":
        value, change = (lambda v: f"{v * 1e3:.3g} ms"), (lambda v: f"{v:+.1%}")
    else:
        value, change = (lambda v: f"{v:.4f}"), (lambda v: f"{v:+.4f}")
    fmt = lambda v, f: "" if v is None else f(v)  # noqa: E731
    ci = f"[{change(row.low)}, {change(row.high)}]" if row.low is not None and row.high is not None else ""
    return [
        row.backend,
        row.cell,
        row.metric,
        row.seeds,
        fmt(row.baseline, value),
        fmt(row.candidate, value),
        fmt(row.change, change),
        ci,
        fmt(row.p_value, lambda p: f"{p:.2g}"),
        row.verdict.value,
        row.detail,
    ]


def _side(label: str, info) -> str:
    commits = f", commit {', '.join(info.commits)}" if info.commits else ""
    return f"{label}: {info.kind} {info.path} (run {info.name}, {info.ok_jobs}/{info.jobs} jobs ok{commits})"


def _thresholds(report: Report) -> str:
    t = report.thresholds
    return (
        f"thresholds: max slowdown {t.max_slowdown:.0%}, max accuracy drop {t.max_acc_drop:g}, alpha {t.alpha:g} "
        f"(CI = {1 - t.alpha:.0%} confidence interval of the change)"
    )


def to_text(report: Report) -> str:
    rows = [list(COLUMNS)] + [table_cells(r) for r in report.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
    lines = [
        f"bench check: {headline(report)}",
        _side("baseline", report.baseline),
        _side("candidate", report.candidate),
        _thresholds(report),
        f"machine: {report.machine.reason}",
        "",
    ]
    for cells in rows:
        verdict = cells[-2].upper() if cells[-2] in (Verdict.REGRESSION.value, Verdict.FAILED.value) else cells[-2]
        lines.append("  ".join(c.ljust(w) for c, w in zip([*cells[:-2], verdict], widths)) + "  " + cells[-1])
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def to_markdown(report: Report) -> str:
    mark = "❌" if report.failures else "✅"
    lines = [
        f"### {mark} bench check: {headline(report)}",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in report.rows:
        cells = table_cells(row)
        cells[-2] = _MD_MARK[row.verdict] + (f"**{cells[-2]}**" if row.verdict.fails else cells[-2])
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += [
        "",
        f"- {_side('**baseline**', report.baseline)}",
        f"- {_side('**candidate**', report.candidate)}",
        f"- {_thresholds(report)}",
        f"- machine: {report.machine.reason}",
    ]
    lines += [f"- note: {n}" for n in report.notes]
    methods = sorted({f"{r.metric}: {r.method}" for r in report.rows if r.method})
    if methods:
        lines += ["", "<details><summary>How each verdict was decided</summary>", ""]
        lines += [f"- {m}" for m in methods] + [
            "",
            "A speed regression needs the fastest block's step time beyond "
            "the max slowdown *and* significance (p < alpha and a CI excluding no change); an accuracy regression "
            "needs a mean drop beyond the max accuracy drop and evidence: with the same seeds on both sides, one seed's "
            "exact difference, or a Wilcoxon signed-rank p < alpha on the paired changes (with fewer seeds than that "
            "test needs, every seed moving the same way); with different seeds, two or more a side, Welch p < alpha.",
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"


def to_dict(report: Report) -> dict[str, Any]:
    return {
        "kind": CHECK_KIND,
        "schema_version": CHECK_SCHEMA_VERSION,
        "result": "regression" if report.failures else "pass",
        "exit_code": report.exit_code,
        "headline": headline(report),
        **_plain(asdict(report)),
    }


def to_json(report: Report) -> str:
    return json.dumps(to_dict(report), indent=1, allow_nan=False) + "\n"


def _plain(value: Any) -> Any:
    """Enums to their value, tuples to lists: what json.dumps can write."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
