"""What the report says, as a list of format-neutral blocks; ``render_md`` and ``render_html`` only lay them out.

Order: the headline, what to worry about first (banners, failed jobs, skipped files), then the verdicts,
accuracy over seeds, the engines, the numbers, the charts, per-job detail and the conditions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harness import __version__
from harness.devices import device_kind

from . import accuracy
from . import formatting as fmt
from . import head_to_head as h2h
from .conditions import short_hash
from .load import RunInfo
from .tables import SPEED_METRICS, SUMMARY_COLUMNS, SUMMARY_METRICS

#: Summary columns that only some runs fill (GPU jobs): left out of the rendered table when every row lacks them.
OPTIONAL_COLUMNS = ("peak_device_mb",)

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
    ("host", "host"),
    ("host_kind", "kind of host (CPU, GPU)"),
    ("executor", "executor"),
    ("shared_machine", "shared its machine"),
    ("cpus", "pinned CPUs"),
    ("cores", "cores"),
    ("threads", "threads"),
    ("os", "OS"),
    ("python", "Python"),
    ("frameworks", "frameworks"),
    ("git_commit", "git commit"),
    ("git_dirty", "uncommitted changes"),
    ("started_at", "started"),
)
#: A formatted number: "1,600", "-4.0 pts", "2.00×", "0.40%", "<0.001", "0.820 ± 0.020", "0.77 – 0.87",
#: "0.820 [0.770, 0.870]", "+1.6 pts [+0.9, +2.3]".
_NUMBER = re.compile(r"^[-+<]?[\d,.]+%?(?:\s*[±–]\s*[-+]?[\d,.]+%?)?(?:×| pts)?(?:\s\[[-+]?[\d,.]+, [-+]?[\d,.]+\])?$")
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
#: The accuracy-over-seeds table: metric, column title.
ACCURACY_COLUMNS = (
    ("test_acc", "test accuracy"),
    ("test_loss", "test loss"),
    ("best_val_acc", "best val accuracy"),
    ("epochs_to_acc", "epochs to target"),
)
#: The engines table: column, title, formatter kind.
ENGINE_FACTS = (
    ("parity_group", "parity group"),
    ("kernel_path", "kernel path"),
    ("xla", "XLA"),
    ("flush_denormal", "flush-to-zero"),
)
COMPILE_FACTS = (("compile_setting", "compile setting"), ("graphs", "graphs"), ("graph_breaks", "graph breaks"))
#: Shown when some job trained on a GPU: where each engine ran, and whether TF32 was allowed there.
DEVICE_FACTS = (("device", "device"), ("tf32", "TF32"))


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
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class KeyValues:
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Figure:
    chart: Chart


Block = Heading | Paragraph | Alert | Table | Bullets | KeyValues | Figure


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
    reference: str = "keras"
    headline: str = ""
    paired: pd.DataFrame = field(default_factory=pd.DataFrame)
    engines: pd.DataFrame = field(default_factory=pd.DataFrame)
    differences: list[str] = field(default_factory=list)
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
    if data.headline:
        blocks.append(Paragraph(f"Headline: {data.headline}"))
    blocks += _alerts(data)
    blocks += _head_to_head(data)
    blocks += _accuracy(data)
    blocks += _engines(data)
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
    if jobs["backend"].nunique() > 1:
        parts.append(f"Backends are compared with {data.reference} (bench report --reference).")
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
        "seeds",
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
                f"{row['n_baseline']} vs {row['n_compared']}"
                if row["n_baseline"] or row["n_compared"]
                else fmt.MISSING,
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
        f"{h2h.SPEED_MIN_CHANGE:.0%}. Both speed comparisons use only jobs that had their machine to themselves, "
        f"and between backends only jobs on the same kind of host (CPU model, GPU); 'seeds' counts the jobs each side "
        f"contributed. Accuracy: difference of the means over seeds in percentage points, at least "
        f"{h2h.ACC_MIN_DIFF * 100:g} points with p < {h2h.SEED_P:g}: a paired t-test over seeds where the seeds "
        f"pair (the same seeds on both sides, each from the same initial weights and batches: matched mode), "
        f"else Welch's t-test. With one seed per side there is no seed-to-seed noise estimate, so accuracy and "
        f"time-to-accuracy differences are shown but cannot be tested."
    )


def _accuracy(data: ReportData) -> list[Block]:
    """Accuracy and loss as mean [95% CI] over seeds, and each backend paired with the reference."""
    if _max_seeds(data) < 2:
        return []
    stat = data.seed_table.set_index(["run", "backend", "cell", "mode", "metric"])
    lead = ["run"] if data.several_runs else []
    rows = []
    for row in data.summary.to_dict("records"):
        key = (row["run"] if data.several_runs else data.runs[0].label, row["backend"], row["cell"], row["mode"])
        cells = [fmt.mean_interval(m, *stat.loc[(*key, m), ["mean", "ci_low", "ci_high"]]) for m, _ in ACCURACY_COLUMNS]
        rows.append((*(str(row[c]) for c in lead), row["backend"], row["cell"], row["mode"], str(row["seeds"]), *cells))
    header = (*lead, "backend", "cell", "mode", "seeds", *(t for _, t in ACCURACY_COLUMNS))
    blocks: list[Block] = [
        Heading("Accuracy over seeds"),
        Paragraph(
            "Mean over seeds [95% confidence interval of the mean, Student t]. Epochs to target: the first epoch "
            f"whose validation accuracy reached {data.target:g} (valid also for jobs that shared their machine)."
        ),
        Table("accuracy", header, tuple(rows)),
    ]
    if not data.paired.empty:
        blocks += [
            Heading(f"Paired with {data.reference}", 3),
            _paired_table(data),
            Paragraph(_paired_text(data), small=True),
        ]
    return blocks


def _paired_table(data: ReportData) -> Table:
    lead = ["run"] if data.several_runs else []
    modes = data.paired["mode"].nunique() > 1
    rows = []
    for r in data.paired.to_dict("records"):
        paired = r["pairs"] >= 2
        rows.append(
            (
                *(str(r[c]) for c in lead),
                r["cell"],
                *([r["mode"]] if modes else []),
                r["backend"],
                fmt.label(r["metric"]),
                r["verdict"],
                fmt.difference_interval(r["diff"], r["ci_low"], r["ci_high"]) if paired else fmt.MISSING,
                fmt.p_value(r["t_p"]),
                fmt.p_value(r["wilcoxon_p"]),
                str(r["pairs"]),
                fmt.points(r["detectable"]) if paired else fmt.MISSING,
                fmt.seeds_needed(r["seeds_for_1pt"]) if paired else fmt.MISSING,
            )
        )
    header = (
        *lead,
        "cell",
        *(["mode"] if modes else []),
        "backend",
        "metric",
        "verdict",
        f"effect vs {data.reference} [95% CI]",
        "paired t p",
        "Wilcoxon p",
        "seeds",
        "detectable",
        "seeds for 1 pt",
    )
    return Table("paired", header, tuple(rows))


def _paired_text(data: ReportData) -> str:
    return (
        f"Each seed's result minus {data.reference}'s result for the same seed: in matched mode a seed fixes the "
        f"initial weights and every batch for every backend, so the pairs are real and the seed-to-seed noise "
        f"cancels. Effect: mean difference in points with its 95% interval; paired t-test and Wilcoxon signed-rank "
        f"test, both two-sided (Wilcoxon needs no normality but cannot reach p < 0.05 with fewer than 6 seeds). "
        f"Verdict: the head-to-head's rule. Power hint: 'detectable' is the smallest true difference these seeds "
        f"would detect {accuracy.POWER:.0%} of the time with the paired t-test at p < {h2h.SEED_P:g}, taking the "
        f"observed spread of the differences as the truth; 'seeds for 1 pt' is how many seeds would detect one "
        f"point the same way (a hint: the spread is itself estimated from few seeds)."
    )


def _engines(data: ReportData) -> list[Block]:
    """What each engine really ran (read back from the framework), first step apart from steady steps."""
    frame = data.engines
    lead = ["run"] if data.several_runs else []
    modes = frame["mode"].nunique() > 1
    compiled = frame[[c for c, _ in COMPILE_FACTS]].notna().any().any() or frame["compile_s"].notna().any()
    on_gpu = frame["device"].map(lambda d: device_kind(d) == "gpu" if isinstance(d, str) else False).any()
    facts = ENGINE_FACTS + (DEVICE_FACTS if on_gpu else ()) + (COMPILE_FACTS if compiled else ())
    rows = []
    for r in frame.to_dict("records"):
        rows.append(
            (
                *(str(r[c]) for c in lead),
                r["backend"],
                r["cell"],
                *([r["mode"]] if modes else []),
                *(fmt.fact(c, r[c]) for c, _ in facts),
                fmt.number("first_step_s", r["first_step_s"]),
                *([fmt.number("first_step_s", r["compile_s"])] if compiled else []),
                fmt.number("step_ms_median", r["step_ms_median"]),
            )
        )
    header = (
        *lead,
        "backend",
        "cell",
        *(["mode"] if modes else []),
        *(t for _, t in facts),
        "first step (s)",
        *(["of which compile (s)"] if compiled else []),
        "median step (ms)",
    )
    blocks: list[Block] = [
        Heading("Engines"),
        Paragraph(
            "What each backend ran, as read back from the framework by the job (record's runtime): the kernel path, "
            "whether XLA compiled the step, the flush-to-zero state of subnormal floats during training, and the "
            "optimizer-semantics (parity) group. First step: build, trace or compile time, kept apart from the "
            "steady-state median step; both are means over the jobs that had their machine to themselves. "
            f"'{fmt.MISSING}': the record does not say (records from before these facts were recorded)."
        ),
        Table("engines", header, tuple(rows)),
    ]
    if data.differences:
        blocks += [Heading("Where engines still differ", 3), Bullets(tuple(data.differences))]
    return blocks


def _max_seeds(data: ReportData) -> int:
    return int(data.summary["seeds"].max()) if len(data.summary) else 0


def _summary(data: ReportData) -> list[Block]:
    summary, seeds = data.summary, data.seed_table
    sd = seeds.set_index(["run", "backend", "cell", "mode", "metric"])
    lead = ["run"] if data.several_runs else []
    run_of = (lambda r: r["run"]) if data.several_runs else (lambda r: data.runs[0].label)
    # Two tables of summary.csv's columns (accuracy and resources; time), so each fits a page.
    # A column no job has a value for (device memory in a CPU-only report) stays in summary.csv only.
    shown = [m for m in SUMMARY_METRICS if m not in OPTIONAL_COLUMNS or summary[m].notna().any()]
    parts = {
        "summary": [m for m in shown if m not in SPEED_METRICS],
        "summary_speed": [m for m in shown if m in SPEED_METRICS],
    }
    rows: dict[str, list[tuple[str, ...]]] = {name: [] for name in parts}
    for row in summary.to_dict("records"):
        key = (run_of(row), row["backend"], row["cell"], row["mode"])
        for name, metrics in parts.items():
            cells = []
            for metric in metrics:
                stat = sd.loc[(*key, metric)]
                if metric == "time_to_acc_s" and fmt.is_missing(row[metric]):
                    counted = int(stat["eligible"])
                    cells.append("not reached" + (f" ({int(stat['n'])}/{counted} seeds)" if counted > 1 else ""))
                else:
                    cells.append(fmt.mean_sd(metric, row[metric], stat["sd"], int(stat["n"])))
            lead_cells = (*(str(row[c]) for c in lead), row["backend"], row["cell"], row["mode"], str(row["seeds"]))
            rows[name].append((*lead_cells, *cells))
    header = (*lead, *(c for c in SUMMARY_COLUMNS if c not in SUMMARY_METRICS))
    blocks: list[Block] = [
        Heading("Summary"),
        Paragraph(
            "One row per backend × cell × mode; columns as in summary.csv, in two tables. Step times in ms over timed steps "
            "(warm-up and partial last batches excluded); train_s: training-phase wall time summed over epochs "
            f"(evaluation excluded); time_to_acc_s: training seconds until validation accuracy first reached "
            f"{data.target:g}; peak_rss_mb: peak resident memory of the job's process; peak_device_mb: peak memory "
            "allocated on the GPU during the job (shown when a job ran on one). Time columns average only "
            f"the jobs that had their machine to themselves, on the kind of host most of the row's jobs ran on.",
            small=True,
        ),
        *(Table(name, (*header, *metrics), tuple(rows[name])) for name, metrics in parts.items()),
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
    if isinstance(value, bool):
        return "yes" if value else "no"
    # Fingerprints and commits are 40-64 hex digits: 12 identify them and keep the table narrow.
    return fmt.MISSING if fmt.is_missing(value) else short_hash(str(value))
