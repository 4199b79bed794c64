"""How numbers read in the report (one place, so the Markdown and the HTML say the same thing)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from harness.seed_stats import MAX_SEEDS

#: Format spec per metric ("sig": three significant digits, for times that range from 0.05 ms to minutes);
#: anything not listed uses ".4g".
METRIC_FORMAT: dict[str, str] = {
    "test_acc": ".3f",
    "test_loss": ".3f",
    "best_val_acc": ".3f",
    "final_val_acc": ".3f",
    "best_epoch": ".3g",
    "epochs_to_acc": ".3g",
    "step_ms_median": "sig",
    "step_ms_p10": "sig",
    "step_ms_p90": "sig",
    "samples_per_s": ",.0f",
    "train_s": "sig",
    "time_to_acc_s": "sig",
    "first_step_s": "sig",
    "peak_rss_mb": ",.0f",
    "peak_device_mb": ",.0f",
    "params": ",.0f",
    "overhead_share": ".2%",
    "other_cpu_max": ".0%",
}
SIGNIFICANT = 3
METRIC_LABEL: dict[str, str] = {
    "test_acc": "test accuracy",
    "best_val_acc": "best val accuracy",
    "step_ms_median": "median step (ms)",
    "time_to_acc_s": "time to accuracy (s)",
    "final_val_acc": "final val accuracy",
    "samples_per_s": "samples/s",
    "train_s": "training time (s)",
}
MISSING = "–"


def is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def number(metric: str, value: Any) -> str:
    if is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    spec = METRIC_FORMAT.get(metric, ".4g")
    try:
        return (
            significant(float(value))
            if spec == "sig"
            else format(float(value) if not isinstance(value, int) else value, spec)
        )
    except (TypeError, ValueError):
        return str(value)


def significant(value: float, digits: int = SIGNIFICANT) -> str:
    """'20.0', '19.7', '0.0912', '1,234': trailing zeros kept (they say how precise), no exponents."""
    if abs(float(f"{value:.{digits}g}")) >= 10**digits:  # after rounding: 999.96 -> 1,000, not 1.00e+03
        return f"{value:,.0f}"
    return f"{value:#.{digits}g}".rstrip(".")


def mean_sd(metric: str, mean: Any, sd: Any, seeds: int) -> str:
    """'0.820 ± 0.020' with several seeds; the bare value with one seed, or when every seed agrees exactly
    (parameter counts, peak epochs: '± 0' would only add noise)."""
    if seeds < 2 or is_missing(sd) or sd == 0:
        return number(metric, mean)
    return f"{number(metric, mean)} ± {number(metric, sd)}"


def interval(metric: str, low: Any, high: Any) -> str:
    if is_missing(low) or is_missing(high):
        return "one seed: none"
    return f"{number(metric, low)} – {number(metric, high)}"


def change(value: float, kind: str) -> str:
    if is_missing(value):
        return MISSING
    if kind == "ratio":
        return f"{value:.2f}×"
    return f"{value * 100:+.1f} pts"


def p_value(p: Any) -> str:
    if is_missing(p):
        return MISSING
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def label(metric: str, target: float | None = None) -> str:
    if metric == "time_to_acc_s" and target is not None:
        return f"time to {target:g} val acc (s)"
    return METRIC_LABEL.get(metric, metric)


def mean_interval(metric: str, mean: Any, low: Any, high: Any) -> str:
    """'0.820 [0.770, 0.870]': a mean with its confidence interval; the bare mean without one."""
    if is_missing(low) or is_missing(high):
        return number(metric, mean)
    return f"{number(metric, mean)} [{number(metric, low)}, {number(metric, high)}]"


def points(value: Any) -> str:
    """An accuracy difference (a fraction) in percentage points: '1.4 pts'."""
    return MISSING if is_missing(value) else f"{value * 100:.1f} pts"


def difference_interval(diff: Any, low: Any, high: Any) -> str:
    """'+1.6 pts [+0.9, +2.3]'."""
    if is_missing(diff):
        return MISSING
    if is_missing(low) or is_missing(high):
        return change(diff, "difference")
    return f"{change(diff, 'difference')} [{low * 100:+.1f}, {high * 100:+.1f}]"


def seeds_needed(value: Any) -> str:
    return f"more than {MAX_SEEDS:,}" if is_missing(value) else str(int(value))


#: Runtime facts that are booleans, and how each reads.
FACT_WORDS: dict[str, tuple[str, str]] = {"xla": ("yes", "no"), "flush_denormal": ("on", "off"), "tf32": ("on", "off")}


def fact(column: str, value: Any) -> str:
    if is_missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_) and column in FACT_WORDS:
        return FACT_WORDS[column][0 if value else 1]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # graph counts read back through a float column
    return str(value)
