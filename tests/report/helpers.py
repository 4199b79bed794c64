"""Build the report's tables from run folders or from records, without writing files or drawing charts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.report.build import analyse
from harness.report.document import ReportData
from harness.report.load import load_runs
from tests.fixtures.factory import write_run


def analysed(*paths: Path) -> ReportData:
    return analyse(load_runs(paths))


def analysed_records(tmp_path: Path, records: list[dict], name: str = "r", **kwargs) -> ReportData:
    return analysed(write_run(tmp_path, name, records, **kwargs))


def row(frame: pd.DataFrame, **where) -> pd.Series:
    """The single row of ``frame`` matching every column=value in ``where``."""
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    matched = frame[mask]
    assert len(matched) == 1, f"{len(matched)} rows match {where}"
    return matched.iloc[0]
