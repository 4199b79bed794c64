"""``bench check``, ``bench baseline save``: regression checks of a candidate run against a baseline.

Modules: ``samples`` (what a comparison needs from each job, read from a run folder), ``baseline`` (the
compact, schema-versioned baseline file), ``compare`` (the pure comparison -> typed ``Report``; the
statistics are in ``harness.stats``), ``render`` (text / markdown / JSON).

What each check does, its defaults and why, and the error rates measured on real runs: README,
"Regression checks in CI" (kept there only, so the two cannot drift apart).
"""
