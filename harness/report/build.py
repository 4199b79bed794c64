"""Find the runs, build the tables, charts and documents, and write every output file atomically."""

from __future__ import annotations

import importlib.util
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness import __version__
from harness.atomic import ensure_writable_dir, write_bytes, write_json, write_text
from harness.errors import BenchError
from harness.records import run_dirs

from . import accuracy, conditions, document, engines, head_to_head, hosts, render_html, render_md, tables
from .headline import headline
from .load import Loaded, load_runs

FORMATS: tuple[str, ...] = ("md", "html", "csv", "json")
REPORT_KIND = "rnn-bench/report"


@dataclass
class ReportResult:
    out: Path
    files: list[Path]
    summary: pd.DataFrame
    head_to_head: pd.DataFrame
    headline: str = ""
    warnings: list[str] = field(default_factory=list)
    banners: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    problems: int = 0


def resolve_runs(names: Sequence[str], results: Path) -> list[Path]:
    """RUN arguments as run folders (a path, or a name under ``results``); none given: the latest run."""
    if not names:
        found = run_dirs(results)
        if not found:
            raise BenchError(
                f"no runs found under {results} (looked for {results}/*/manifest.json); run "
                f"'bench run' first, or point --results at the folder that holds your runs"
            )
        return [found[-1]]
    paths: list[Path] = []
    for name in names:
        path = next((p for p in (Path(name), results / name) if _is_run(p)), None)
        if path is None:
            known = ", ".join(p.name for p in run_dirs(results)) or "none"
            raise BenchError(
                f"no run {name!r}: neither {Path(name)} nor {results / name} is a run folder "
                f"(one with manifest.json or jobs/); runs under {results}: {known}"
            )
        if path.resolve() not in {p.resolve() for p in paths}:
            paths.append(path)
    return paths


def default_out(runs: Sequence[Path]) -> Path:
    # Several runs: a folder of its own, so the single-run report of the last run is not overwritten.
    return runs[-1] / ("report" if len(runs) == 1 else "report-combined")


def make_report(
    runs: Sequence[Path],
    out: Path,
    formats: Sequence[str] = FORMATS,
    strict: bool = False,
    reference: str | None = None,
) -> ReportResult:
    """``reference``: the backend every other is compared with (None: keras when present, else the first in
    the report's order); one not in the report is an error."""
    ensure_writable_dir(out, "output folder")  # fail before reading anything
    loaded = load_runs(runs)
    if loaded.jobs.empty:
        raise BenchError(_nothing_to_report(loaded, runs))
    data = analyse(loaded, reference)
    if strict and data.banners:
        raise BenchError(
            f"--strict: the jobs are not comparable like for like ({len(data.banners)} problem(s)); "
            f"first: {data.banners[0]}"
        )
    files = []
    if "csv" in formats:
        files += write_tables(out, tidy_tables(loaded, data))
    if "md" in formats or "html" in formats:
        from .charts import render_charts  # matplotlib/seaborn only when charts are wanted

        data.charts = render_charts(data.jobs, loaded.epochs, loaded.steps, out)
        files += [p for c in data.charts for p in (c.png, c.svg)]
        blocks = document.build(data)
        if "md" in formats:
            files.append(_write(out / "report.md", render_md.render(blocks)))
        if "html" in formats:
            files.append(_write(out / "index.html", render_html.render(blocks, document.title(data))))
    if "json" in formats:
        write_json(out / "report.json", report_json(data))
        files.append(out / "report.json")
    return ReportResult(
        out,
        files,
        data.summary,
        data.head_to_head,
        data.headline,
        list(loaded.warnings),
        data.banners,
        data.flags,
        len(loaded.problems),
    )


def analyse(loaded: Loaded, reference: str | None = None) -> document.ReportData:
    """Every table of the report, as pure functions of the loaded frames."""
    jobs = tables.sort_rows(loaded.jobs, [r.label for r in loaded.runs]).reset_index(drop=True)
    several = len(loaded.runs) > 1
    seed_table = tables.seed_stats(jobs)
    reference = resolve_reference(jobs, reference)
    return document.ReportData(
        runs=loaded.runs,
        jobs=jobs,
        summary=tables.summary(seed_table, with_run=several),
        seed_table=seed_table,
        head_to_head=head_to_head.head_to_head(jobs, loaded.steps, reference),
        across_runs=head_to_head.across_runs(jobs, loaded.steps) if several else pd.DataFrame(),
        problems=loaded.problems,
        warnings=loaded.warnings,
        banners=conditions.banners(jobs),
        flags=conditions.flags(jobs),
        notes=conditions.notes(jobs) + hosts.notes(jobs),
        shared_spec=conditions.shared_spec_text(jobs),
        reference=reference,
        headline=headline(jobs, loaded.steps),
        paired=accuracy.paired_table(jobs, reference),
        engines=engines.engine_table(jobs),
        differences=engines.differences(jobs),
    )


def resolve_reference(jobs: pd.DataFrame, reference: str | None) -> str:
    backends = tables.backend_order(jobs["backend"])
    if reference is None:
        return backends[0]  # keras when present (the report's order puts it first)
    if reference not in backends:
        raise BenchError(
            f"--reference {reference}: no such backend in the report (its backends: {', '.join(backends)}); "
            f"choose one of them"
        )
    return reference


def tidy_tables(loaded: Loaded, data: document.ReportData) -> dict[str, pd.DataFrame]:
    frames = {
        "summary": data.summary,
        "summary_seeds": data.seed_table,
        "jobs": tables.job_table(data.jobs),
        "epochs": loaded.epochs,
        "steps": loaded.steps,
        "head_to_head": data.head_to_head,
        "paired": data.paired,
        "engines": data.engines,
        "conditions": conditions.condition_table(data.jobs),
        "problems": data.problems,
    }
    if not data.across_runs.empty:
        frames["across_runs"] = data.across_runs
    return frames


def write_tables(out: Path, frames: dict[str, pd.DataFrame]) -> list[Path]:
    """NAME.csv for each table, and NAME.parquet too where pyarrow is installed."""
    parquet = importlib.util.find_spec("pyarrow") is not None
    files = []
    for name, frame in frames.items():
        files.append(_write(out / f"{name}.csv", frame.to_csv(index=False)))
        if parquet:
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            write_bytes(out / f"{name}.parquet", buffer.getvalue())
            files.append(out / f"{name}.parquet")
    return files


def report_json(data: document.ReportData) -> dict[str, Any]:
    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        # pandas' own JSON turns NaN into null; strict JSON readers reject NaN.
        return json.loads(frame.to_json(orient="records")) if not frame.empty else []

    return {
        "kind": REPORT_KIND,
        "schema_version": 1,
        "generator": f"rnn-bench {__version__}",
        "runs": [{"label": r.label, "path": str(r.path)} for r in data.runs],
        "target_acc": data.target,
        "reference": data.reference,
        "headline": data.headline,
        "banners": data.banners,
        "flags": data.flags,
        "notes": data.notes,
        "warnings": data.warnings,
        "summary": records(data.summary),
        "seed_stats": records(data.seed_table),
        "head_to_head": records(data.head_to_head),
        "paired": records(data.paired),
        "engines": records(data.engines),
        "differences": data.differences,
        "across_runs": records(data.across_runs),
        "problems": records(data.problems),
        "charts": [c.name for c in data.charts],
    }


def _write(path: Path, text: str) -> Path:
    write_text(path, text)
    return path


def _is_run(path: Path) -> bool:
    return path.is_dir() and ((path / "manifest.json").is_file() or (path / "jobs").is_dir())


def _nothing_to_report(loaded: Loaded, runs: Sequence[Path]) -> str:
    where = ", ".join(map(str, runs))
    if len(loaded.problems):
        first = loaded.problems.iloc[0]
        return (
            f"no completed job to report in {where}: {len(loaded.problems)} job(s) failed, are missing or "
            f"unreadable (first: {first['job_id']}: {first['reason']}); rerun them with 'bench run --resume RUN'"
        )
    return f"no job records in {where}/jobs; run 'bench run' first"
