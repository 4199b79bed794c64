"""A check ``Report`` as plain text (terminal, CI log), markdown (CI job summary, pull-request comment)
or JSON (machines). Text and markdown show the same table, built once by ``table_cells``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from enum import Enum
from typing import Any

from .calibrate import COMMITTED_MARGIN, SLOW_LEVEL, THRESHOLDS, GroupNoise, Rates, Recommendation
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


# -- bench check calibrate -------------------------------------------------------------------------------

#: Below this many windows, the rates of a number of rounds rest on too little of the calibration.
_FEW_WINDOWS = 5
#: Below this many identical-code checks against the committed baseline, its threshold rests on too few.
_FEW_COMMITTED = 20


def calibration_text(rec: Recommendation, per_k: Sequence[Rates], noise: Sequence[GroupNoise]) -> str:
    fa, power = rec.target_false_alarms, rec.target_power
    lines = [f"noise of this machine, identical code ({noise[0].runs if noise else 0} runs):"]
    for n in noise:
        lines.append(
            f"  {'/'.join(n.group)}: median step {n.median_ms[0]:.3g}-{n.median_ms[1]:.3g} ms, fastest block "
            f"{n.fastest_ms[0]:.3g}-{n.fastest_ms[1]:.3g} ms; {n.slow_runs} of {n.runs} runs mostly at a slow "
            f"level (median over {SLOW_LEVEL:g}x the lowest)"
        )
    lines += [
        "",
        f"error rates (false alarm: identical code failing the build; caught: {rec.slowdown:.0%}-slowed runs "
        f"reported as a regression; alpha {rec.alpha:g}):",
        f"  {'set-up':<28} {'windows':>7} {'A/A':>6} {'slowed':>6}  {'quiet from':>10}  {'catches up to':>13}  "
        "largest A/A ratio",
    ]
    for rates in (*per_k, rec.committed):
        lo, hi = rates.quiet_from(fa), rates.powerful_to(power)
        name = f"{_runs(rates.rounds)} a side" if rates.setup == "interleaved" else "committed baseline, 1 run"
        lines.append(
            f"  {name:<28} {rates.windows:>7} {rates.aa_rows:>6} {rates.slowed_rows:>6}  "
            f"{_threshold(lo):>10}  {_threshold(hi):>13}  {rates.aa_ratio_max:.3f}"
        )
    lines += [
        f"  (quiet from: the smallest --max-slowdown with at most {fa:.1%} false alarms; catches up to: the "
        f"largest that catches {power:.0%}; a split is checked both ways)",
        "",
        f"recommendation (false alarms <= {fa:.1%}, power >= {power:.0%} at a {rec.slowdown:.0%} slowdown):",
    ]
    if rec.interleaved is None or rec.max_slowdown is None:
        lines.append(f"  interleaved rounds: none: {rec.why}")
    else:
        r, i = rec.interleaved, THRESHOLDS.index(rec.max_slowdown)
        lines.append(
            f"  interleaved rounds (the workflow example): {_runs(rec.rounds)} a side, --max-slowdown "
            f"{rec.max_slowdown:g}; here {r.false_alarms[i]} of {r.aa_rows} identical-code checks failed "
            f"({r.false_alarm_rate(i):.1%}), {r.caught[i]} of {r.slowed_rows} slowed caught ({r.power(i):.1%})"
        )
        lines.append(f"    ({rec.why})")
        if r.windows < _FEW_WINDOWS:
            lines.append(
                f"    caution: these rates rest on {r.windows} window(s) of {r.rounds} rounds; splits reuse runs, "
                "so calibrate with more rounds before trusting them"
            )
    c = rec.committed
    if rec.committed_max_slowdown is None:
        lines.append(f"  committed baseline (.ci/run): none: no threshold up to {THRESHOLDS[-1]:g} is safe here")
    else:
        i = THRESHOLDS.index(rec.committed_max_slowdown)
        lines.append(
            f"  committed baseline (.ci/run): --max-slowdown {rec.committed_max_slowdown:g} (largest identical-code "
            f"ratio {c.aa_ratio_max:.3f} x margin {COMMITTED_MARGIN:g}); a {rec.slowdown:.0%} slowdown caught in "
            f"{c.caught[i]} of {c.slowed_rows} there: a committed baseline cannot share the candidate's slow "
            "episodes, so it only catches gross slowdowns"
        )
        if c.aa_rows < _FEW_COMMITTED:
            lines.append(
                f"    caution: this rests on {c.aa_rows} check(s) of identical code against the baseline; "
                "calibrate with more rounds before trusting it"
            )
    same = (
        "identical code gave the same accuracy in every run"
        if rec.accuracy_spread == 0
        else f"identical code's accuracy moved by up to {rec.accuracy_spread:.4f} between runs: not deterministic here"
    )
    lines.append(
        f"  accuracy: --max-acc-drop {rec.max_acc_drop:g} interleaved, {rec.committed_max_acc_drop:g} committed ({same})"
    )
    return "\n".join(lines) + "\n"


def _threshold(index: int | None) -> str:
    return "-" if index is None else f"{THRESHOLDS[index]:g}"


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"
