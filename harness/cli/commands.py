"""The list of commands the group exposes (one module each)."""

from __future__ import annotations

import click

ALL: list[click.Command] = []

from .data_cmd import data  # noqa: E402
from .run_cmd import run  # noqa: E402

ALL += [data, run]

from .report_cmd import report  # noqa: E402

ALL.append(report)

from .baseline_cmd import baseline  # noqa: E402
from .check_cmd import check  # noqa: E402
from .export_cmd import export  # noqa: E402

ALL += [baseline, check, export]

from .parity_cmd import parity  # noqa: E402

ALL.append(parity)
