"""``bench check``, ``bench check calibrate``, ``bench baseline save``: regression checks of a candidate run
against a baseline, and the calibration of their thresholds on the machine that runs them.

Modules: ``samples`` (what a comparison needs from each job, read from a run folder), ``baseline`` (the
compact, schema-versioned baseline file), ``verdict`` (the verdict enum, thresholds and result rows),
``speed`` and ``accuracy`` (the policies: statistics + thresholds -> verdict; the statistics themselves are
``harness.stats``), ``compare`` (a check -> typed ``Report``), ``render`` (text / markdown / JSON),
``calibrate`` (error rates and the recommended thresholds from A/A and slowed runs) and ``rounds`` (running
and reading those runs). Method and measurements: docs/methodology.md.
"""
