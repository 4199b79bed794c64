"""``bench report``: comparison tables (pandas) and charts (seaborn) built from run folders' job records.

Data flows one way: ``load`` (records -> tidy frames) -> ``tables``/``head_to_head``/``accuracy``/
``engines``/``conditions``/``hosts``/``headline`` (pure functions of those frames; statistics from
``harness.stats`` and ``harness.seed_stats``) -> ``charts`` -> ``document`` (what the report says,
format-neutral) -> ``render_md``/``render_html``; ``build`` ties them together and writes the files.
Nothing here imports a framework.
"""

from .build import FORMATS, ReportResult, make_report, resolve_runs

__all__ = ["FORMATS", "ReportResult", "make_report", "resolve_runs"]
