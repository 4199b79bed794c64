"""The job records behind the committed report fixtures (tests/fixtures/runs/report/), with the numbers the
tests check by hand.

Regenerate the committed JSON with ``python -m tests.report.scenarios`` (only needed when the record
schema or a scenario changes). Tiny spec: batch 32, 170 training samples -> per epoch 5 full batches and
one partial batch of 10; 3 epochs = 18 steps, of which the first 2 are warm-up and 3 are partial, so
13 steps are "timed". With ``step_noise=0`` every full step takes exactly ``step_ms`` (the first takes
``first_step_s``), which makes medians, throughput and time-to-accuracy computable by hand.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from harness.spec import Spec
from tests.fixtures.factory import DATA, ENVIRONMENT, TINY, make_record, write_run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "runs" / "report"
SMALL_DATA = {**DATA, "n_train": 170, "n_val": 40}
KERAS_VAL = (0.6, 0.7, 0.75)
TORCH_VAL = (0.55, 0.65, 0.72)


def record(backend: str, cell: str, seed: int = 0, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("data", SMALL_DATA)
    return make_record(backend, cell, seed, **kwargs)


def basic() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One seed. LSTM: torch exactly 2x slower (40 vs 20 ms, no noise). GRU: both 20 ms with 5% noise
    (different draws): no clear difference. SimpleRNN: keras's record says failed, torch's never written."""
    records = [
        record("keras", "lstm", step_ms=20.0, step_noise=0.0, val_accs=KERAS_VAL, test_acc=0.74),
        record("torch", "lstm", step_ms=40.0, step_noise=0.0, val_accs=TORCH_VAL, test_acc=0.70),
        record("keras", "gru", step_ms=20.0, step_noise=0.05, val_accs=KERAS_VAL, test_acc=0.74, rng_seed=0),
        record("torch", "gru", step_ms=20.0, step_noise=0.05, val_accs=KERAS_VAL, test_acc=0.74, rng_seed=1),
        record("keras", "simplernn", status="failed"),
    ]
    missing = [
        {
            "job_id": "torch-simplernn-s0",
            "backend": "torch",
            "cell": "simplernn",
            "seed": 0,
            "status": "failed",
            "record": None,
            "error": "worker exited with signal 9 (out of memory?)",
            "wall_s": 3.0,
        }
    ]
    return records, missing


def seeds() -> list[dict[str, Any]]:
    """Three seeds. LSTM test accuracy: keras 0.80/0.82/0.84, torch 0.70/0.72/0.74 (clear 10-point gap);
    GRU: the same accuracies on both backends (no clear difference)."""
    out = []
    for seed in (0, 1, 2):
        acc = 0.80 + 0.02 * seed
        val = tuple(v + 0.01 * seed for v in KERAS_VAL)
        for cell, torch_acc, torch_ms in (("lstm", acc - 0.10, 40.0), ("gru", acc, 20.0)):
            out.append(record("keras", cell, seed, step_ms=20.0, val_accs=val, test_acc=acc, rng_seed=10 + seed))
            out.append(
                record("torch", cell, seed, step_ms=torch_ms, val_accs=val, test_acc=torch_acc, rng_seed=20 + seed)
            )
    return out


def other_machine() -> list[dict[str, Any]]:
    """The basic LSTM pair measured on another host with one thread."""
    env = {**ENVIRONMENT, "hostname": "otherhost", "cpu_model": "Other CPU @ 3.0GHz", "threads": 1}
    return [
        record(b, "lstm", step_ms=ms, step_noise=0.0, environment=env, val_accs=KERAS_VAL)
        for b, ms in (("keras", 22.0), ("torch", 41.0))
    ]


def other_spec() -> list[dict[str, Any]]:
    """The basic LSTM pair with 16 units and another dataset."""
    data = {**SMALL_DATA, "fingerprint": "e" * 64}
    return [
        record(b, "lstm", spec=TINY.replace(units=16), data=data, step_noise=0.0, val_accs=KERAS_VAL)
        for b in ("keras", "torch")
    ]


def big(root: Path, name: str = "big") -> Path:
    """A run the size of the default IMDB matrix (not committed): 3 cells x 2 backends, default spec
    (batch 128, 20,000 training samples -> 157 steps per epoch), 10 epochs = 1,570 steps per job."""
    spec = Spec()
    data = {**DATA, "n_train": 20000, "n_val": 5000, "n_test": 25000}
    val = tuple(0.70 + 0.02 * e for e in range(spec.epochs))
    records = [
        make_record(
            backend,
            cell,
            0,
            spec=spec,
            data=data,
            step_ms=ms,
            step_noise=0.1,
            val_accs=val,
            test_acc=0.86,
            warmup_steps=5,
            target_acc=0.85,
            rng_seed=k,
        )
        for k, (cell, backend, ms) in enumerate(
            (c, b, base * (1.2 if b == "torch" else 1.0))
            for c, base in (("simplernn", 15.0), ("lstm", 40.0), ("gru", 35.0))
            for b in ("keras", "torch")
        )
    ]
    return write_run(root, name, records)


def write_all(root: Path = FIXTURES) -> list[Path]:
    if root.exists():
        shutil.rmtree(root)
    records, missing = basic()
    return [
        write_run(root, "basic", records, extra_jobs=missing),
        write_run(root, "seeds", seeds()),
        write_run(root, "other-machine", other_machine()),
        write_run(root, "other-spec", other_spec()),
    ]


if __name__ == "__main__":
    for path in write_all():
        print(path)
