"""What the report says, as a list of format-neutral blocks; ``render_md`` and ``render_html`` only lay them out.

Order: what to worry about first (banners, failed jobs, skipped files), then the verdicts, the numbers,
the charts, per-job detail and the conditions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harness import __version__

from . import formatting as fmt
from . import head_to_head as h2h
from .conditions import short_hash
from .load import RunInfo
from .tables import SUMMARY_COLUMNS, SUMMARY_METRICS

#: Metrics shown with their confidence interval (all of them are in summary_seeds.csv).
CI_METRICS = (
    "test_acc",
    "best_val_acc",
    "final_val_acc",
    "step_ms_median",
    "samples_per_s",
    "train_s",
    "time_to_acc_s",
)
#: Conditions every job records; those equal for all jobs are listed once, the others per job.
CONDITION_FIELDS = (
    ("mode", "mode"),
    ("spec_hash", "spec hash"),
    ("data_source", "data source"),
    ("data_fingerprint", "data fingerprint"),
    ("hostname", "host"),
    ("cpu_model", "CPU"),
    ("cores", "cores"),
    ("threads", "threads"),
    ("os", "OS"),
    ("python", "Python"),
    ("frameworks", "frameworks"),
    ("git_commit", "git commit"),
    ("git_dirty", "uncommitted changes"),
    ("started_at", "started"),
)
#: A formatted number: "1,600", "-4.0 pts", "2.00×", "0.40%", "<0.001", "0.820 ± 0.020", "0.77 – 0.87".
_NUMBER = re.compile(r"^[-+<]?[\d,.]+%?(?:\s*[±–]\s*[-+]?[\d,.]+%?)?(?:×| pts)?$")
PROSE_CHARS = 24
JOB_COLUMNS = (
    "seed",
    "test_acc",
    "best_val_acc",
    "best_epoch",
    "step_ms_median",
    "samples_per_s",
    "train_s",
    "time_to_acc_s",
    "first_step_s",
    "overhead_share",
    "busy",
)


@dataclass(frozen=True)
class Chart:
    """A chart written by ``charts.save``: NAME.png and NAME.svg, and the PNG bytes for embedding."""

    name: str
    title: str
    caption: str
    png: Path
    svg: Path
    png_bytes: bytes


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str
    small: bool = False  # fine print: method notes under a table


@dataclass(frozen=True)
class Alert:
    title: str
    lines: tuple[str, ...]
    level: str = "warning"  # "warning" | "note"


@dataclass(frozen=True)
class Table:
    name: str  # stable id (HTML id, test hook)
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def numeric(self) -> tuple[bool, ...]:
        """Columns whose every filled cell is a formatted number: right-aligned by the renderers."""
        columns = list(zip(*self.rows)) if self.rows else [() for _ in self.header]
        return tuple(
            any(c != fmt.MISSING for c in col) and all(c == fmt.MISSING or _NUMBER.match(c) for c in col)
            for col in columns
        )

    @property
    def prose(self) -> tuple[bool, ...]:
        """Columns of long text (verdicts, reasons) that may wrap instead of widening the table."""
        columns = list(zip(*self.rows)) if self.rows else [() for _ in self.header]
        return tuple(max((len(c) for c in col), default=0) > PROSE_CHARS for col in columns)


@dataclass(frozen=True)
class KeyValues:
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Figure:
    chart: Chart


Block = Heading | Paragraph | Alert | Table | KeyValues | Figure


@dataclass
class ReportData:
    runs: list[RunInfo]
    jobs: pd.DataFrame
    summary: pd.DataFrame
    seed_table: pd.DataFrame
    head_to_head: pd.DataFrame
    across_runs: pd.DataFrame
    problems: pd.DataFrame
    warnings: list[str]
    banners: list[str]
    flags: list[str]
    notes: list[str]
    shared_spec: str
    charts: list[Chart] = field(default_factory=list)

    @property
    def target(self) -> float:
        return float(self.jobs["target_acc"].iloc[0])

    @property
    def several_runs(self) -> bool:
        return len(self.runs) > 1


def title(data: ReportData) -> str:
    names = ", ".join(r.label for r in data.runs)
    return f"rnn-bench report: {'runs' if data.several_runs else 'run'} {names}"


def build(data: ReportData) -> list[Block]:
    blocks: list[Block] = [Heading(title(data), 1), Paragraph(_intro(data))]
    blocks += _alerts(data)
    blocks += _head_to_head(data)
    blocks += _summary(data)
    blocks += _across_runs(data)
    blocks += [Heading("Charts")] + [Figure(c) for c in data.charts]
    blocks += _per_job(data)
    blocks += _problems(data)
    blocks += _conditions(data)
    return blocks


# -- sections ------------------------------------------------------------------------------------------


def _intro(data: ReportData) -> str:
    jobs = data.jobs
    parts = [
        f"{len(jobs)} completed job(s): backends {', '.join(dict.fromkeys(jobs['backend']))}; "
        f"cells {', '.join(dict.fromkeys(jobs['cell']))}; seeds {', '.join(map(str, sorted(set(jobs['seed']))))}; "
        f"mode {', '.join(dict.fromkeys(jobs['mode']))}."
    ]
    parts.append(f"Target accuracy for time-to-accuracy: {data.target:g} (validation).")
    parts.append(
        f"Generated by bench report (rnn-bench {__version__}) from " + ", ".join(str(r.path) for r in data.runs) + "."
    )
    return " ".join(parts)


def _alerts(data: ReportData) -> list[Block]:
    blocks: list[Block] = []
    if data.banners:
        blocks.append(Alert("Not comparable like for like", tuple(data.banners)))
    if len(data.problems):
        blocks.append(
            Alert(
                "Failed or missing jobs",
                (
                    f"{len(data.problems)} job(s) failed, are missing or could not be read; they are not in the tables "
                    "(listed under 'Failed or missing jobs').",
                ),
            )
        )
    if data.warnings:
        blocks.append(Alert("Skipped files", tuple(data.warnings)))
    if data.flags:
        blocks.append(Alert("Timings to read with care", tuple(data.flags)))
    if data.notes:
        blocks.append(Alert("Notes", tuple(data.notes), level="note"))
    return blocks


def _head_to_head(data: ReportData) -> list[Block]:
    blocks: list[Block] = [Heading("Head to head")]
    if data.head_to_head.empty:
        return blocks + [Paragraph("Only one backend in the report: nothing to compare.")]
    blocks.append(
        _comparison_table("head_to_head", data.head_to_head, ["run"] if data.several_runs else [], data.target)
    )
    blocks.append(Paragraph(_rules_text(), small=True))
    return blocks


def _across_runs(data: ReportData) -> list[Block]:
    if not data.several_runs or data.across_runs.empty:
        return []
    return [
        Heading("Across runs"),
        Paragraph(f"Each run against the first ({data.runs[0].label}), per backend and cell; same tests as above."),
        _comparison_table("across_runs", data.across_runs, ["backend"], data.target),
    ]


def _comparison_table(name: str, frame: pd.DataFrame, lead: list[str], target: float) -> Table:
    modes = frame["mode"].nunique() > 1
    # The verdict comes early: on a phone the columns to its right need scrolling.
    header = (
        *lead,
        "cell",
        *(["mode"] if modes else []),
        "metric",
        "verdict",
        "change",
        "baseline",
        "compared",
        "p",
        "test",
    )
    rows = []
    for row in frame.to_dict("records"):
        rows.append(
            (
                *(str(row[c]) for c in lead),
                row["cell"],
                *([row["mode"]] if modes else []),
                fmt.label(row["metric"], target),
                row["verdict"],
                fmt.change(row["change"], row["change_kind"]),
                f"{row['baseline']} {_value(row['metric'], row['baseline_value'])}",
                f"{row['compared']} {_value(row['metric'], row['compared_value'])}",
                fmt.p_value(row["p_value"]),
                row["test"] or fmt.MISSING,
            )
        )
    return Table(name, header, tuple(rows))


def _value(metric: str, value: float) -> str:
    return "not reached" if metric == "time_to_acc_s" and fmt.is_missing(value) else fmt.number(metric, value)


def _rules_text() -> str:
    return (
        f"A verdict is given only where a difference is larger than the noise; otherwise '{h2h.NO_CLEAR}'. "
        f"Step time: ratio of the medians of the timed steps (pooled over seeds; warm-up and partial batches "
        f"excluded), tested as bench check does: consecutive steps are correlated, so the two-sided Mann-Whitney U "
        f"test compares medians of blocks of steps (p < {h2h.SPEED_P:g}) and a block-bootstrap interval of the "
        f"ratio must exclude 1; the change must also exceed {h2h.SPEED_MIN_CHANGE:.0%}, and with several seeds "
        f"the two sides' per-seed medians must not overlap. Time to accuracy: ratio of the means over seeds; "
        f"Welch's t-test across seeds (p < {h2h.SEED_P:g}) and a change of more than "
        f"{h2h.SPEED_MIN_CHANGE:.0%}. Accuracy: difference of the means over seeds in percentage points; "
        f"Welch's t-test across seeds (p < {h2h.SEED_P:g}) and at least {h2h.ACC_MIN_DIFF * 100:g} points. "
        f"With one seed per side there is no seed-to-seed noise estimate, so accuracy and time-to-accuracy "
        f"differences are shown but cannot be tested."
    )


def _summary(data: ReportData) -> list[Block]:
    summary, seeds = data.summary, data.seed_table
    sd = seeds.set_index(["run", "backend", "cell", "mode", "metric"])
    lead = ["run"] if data.several_runs else []
    run_of = (lambda r: r["run"]) if data.several_runs else (lambda r: data.runs[0].label)
    rows = []
    for row in summary.to_dict("records"):
        key = (run_of(row), row["backend"], row["cell"], row["mode"])
        cells = []
        for metric in SUMMARY_METRICS:
            stat = sd.loc[(*key, metric)]
            if metric == "time_to_acc_s" and fmt.is_missing(row[metric]):
                cells.append("not reached" + (f" ({int(stat['n'])}/{row['seeds']} seeds)" if row["seeds"] > 1 else ""))
            else:
                cells.append(fmt.mean_sd(metric, row[metric], stat["sd"], row["seeds"]))
        rows.append((*(str(row[c]) for c in lead), row["backend"], row["cell"], row["mode"], str(row["seeds"]), *cells))
    blocks: list[Block] = [
        Heading("Summary"),
        Paragraph(
            "One row per backend × cell × mode; columns as in summary.csv. Step times in ms over timed steps "
            "(warm-up and partial last batches excluded); train_s: training-phase wall time summed over epochs "
            f"(evaluation excluded); time_to_acc_s: training seconds until validation accuracy first reached "
            f"{data.target:g}; peak_rss_mb: peak resident memory of the job's process.",
            small=True,
        ),
        Table("summary", (*lead, *SUMMARY_COLUMNS), tuple(rows)),
    ]
    if int(summary["seeds"].max()) < 2:
        blocks.append(
            Paragraph(
                "One seed per configuration: every value is a single measurement, with no spread or confidence "
                "interval. Run several seeds (bench run --seeds 0,1,2) to get them."
            )
        )
    else:
        blocks += [
            Paragraph(
                "With several seeds: mean ± sample standard deviation over seeds, and below the 95% "
                "confidence interval of the mean (Student t over seeds)."
            ),
            _ci_table(data),
        ]
    return blocks


def _ci_table(data: ReportData) -> Table:
    lead = ["run"] if data.several_runs else []
    frame = data.seed_table[data.seed_table["metric"].isin(CI_METRICS)]
    rows = tuple(
        (
            *(str(r[c]) for c in lead),
            r["backend"],
            r["cell"],
            fmt.label(r["metric"], data.target),
            fmt.mean_sd(r["metric"], r["mean"], r["sd"], r["n"]),
            fmt.interval(r["metric"], r["ci_low"], r["ci_high"]),
            f"{r['n']}/{r['seeds']}",
            r["mode"],
        )
        for r in frame.to_dict("records")
    )
    return Table("confidence", (*lead, "backend", "cell", "metric", "mean ± sd", "95% CI", "seeds", "mode"), rows)


def _per_job(data: ReportData) -> list[Block]:
    lead = ["run"] if data.several_runs else []
    rows = tuple(
        (*(str(r[c]) for c in lead), r["job_id"], *(fmt.number(c, r[c]) for c in JOB_COLUMNS))
        for r in data.jobs.to_dict("records")
    )
    return [
        Heading("Per job"),
        Paragraph(
            "Each seed's own numbers; overhead_share is the harness's share of training time "
            "(expected under 1%), busy marks a job during which other processes used the CPU."
        ),
        Table("jobs", (*lead, "job", *JOB_COLUMNS), rows),
    ]


def _problems(data: ReportData) -> list[Block]:
    if data.problems.empty:
        return []
    rows = tuple(
        tuple(fmt.MISSING if fmt.is_missing(r[c]) else str(r[c]) for c in ("run", "job_id", "status", "reason"))
        for r in data.problems.to_dict("records")
    )
    return [Heading("Failed or missing jobs"), Table("problems", ("run", "job", "status", "reason"), rows)]


def _conditions(data: ReportData) -> list[Block]:
    jobs = data.jobs
    shared = [("spec (all but cell and seed)", data.shared_spec)] if data.shared_spec else []
    varying = []
    for column, name in CONDITION_FIELDS:
        values = jobs[column].map(_condition_value)
        if values.nunique() == 1:
            shared.append((name, values.iloc[0]))
        else:
            varying.append((column, name))
    shared.append(("target accuracy", f"{data.target:g}"))
    blocks: list[Block] = [
        Heading("Conditions"),
        Paragraph("Shared by every job in this report:"),
        KeyValues(tuple(shared)),
    ]
    if varying:
        lead = ["run"] if data.several_runs else []
        rows = tuple(
            (*(str(r[c]) for c in lead), r["job_id"], *(_condition_value(r[c]) for c, _ in varying))
            for r in jobs.to_dict("records")
        )
        blocks += [
            Paragraph("Differing between jobs:"),
            Table("conditions", (*lead, "job", *(n for _, n in varying)), rows),
        ]
    return blocks


def _condition_value(value: object) -> str:
    # Fingerprints and commits are 40-64 hex digits: 12 identify them and keep the table narrow.
    return fmt.MISSING if fmt.is_missing(value) else short_hash(str(value))
