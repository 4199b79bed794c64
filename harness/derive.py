"""Numbers derived from a job record's raw values: the one place that decides which steps count.

Report, check and export all call these, so "median step time" means the same thing everywhere:
warm-up steps (flagged in the record) and partial batches (the last batch of an epoch, smaller work)
are excluded from step-time statistics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.records import EpochRecord, JobRecord


def timed_step_mask(record: JobRecord) -> np.ndarray:
    warm = np.asarray(record.steps.warmup, dtype=bool)
    size = np.asarray(record.steps.size, dtype=int)
    return (~warm) & (size == record.batch_size)


def timed_steps(record: JobRecord) -> np.ndarray:
    """Per-step wall times in seconds that step-time statistics use (warm-up and partial batches out)."""
    return np.asarray(record.steps.time_s, dtype=float)[timed_step_mask(record)]


def throughput(record: JobRecord) -> float | None:
    """Training samples per second over non-warm-up steps (partial batches included: they are real work)."""
    warm = np.asarray(record.steps.warmup, dtype=bool)
    times = np.asarray(record.steps.time_s, dtype=float)[~warm]
    sizes = np.asarray(record.steps.size, dtype=float)[~warm]
    total = float(times.sum())
    return float(sizes.sum() / total) if total > 0 else None


def time_to_accuracy(epochs: Sequence[EpochRecord], target: float) -> float | None:
    """Training seconds (sum of epochs' train_s) until val_acc first reaches ``target``; None if never."""
    elapsed = 0.0
    for epoch in epochs:
        elapsed += float(epoch.train_s)
        if epoch.val_acc is not None and float(epoch.val_acc) >= target:
            return elapsed
    return None


def harness_overhead_share(record: JobRecord) -> float | None:
    """Share of training wall time spent outside the framework's step (batching, recording)."""
    train = sum(float(e.train_s) for e in record.epochs)
    over = sum(float(e.overhead_s) for e in record.epochs)
    return over / train if train > 0 else None
