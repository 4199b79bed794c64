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


#: The engines fixture: per engine, its runtime facts (as the engines' backends report them) and per cell its
#: step time (ms); test accuracy per seed is ENGINE_TEST_ACC[engine][cell][seed].
ENGINE_RUNTIME = {
    "keras": {"engine": "keras", "parity_group": "tf-sparse", "kernel_path": "tf-graph", "xla": False},
    "keras-jax": {"engine": "keras-jax", "parity_group": "dense", "kernel_path": "jax-jit-scan", "xla": True},
    "torch": {"engine": "torch", "parity_group": "tf-sparse", "kernel_path": "torch-mkldnn-rnn", "xla": None},
    "torch-compile": {
        "engine": "torch-compile",
        "parity_group": "tf-sparse",
        "kernel_path": "torch-mkldnn-rnn",
        "xla": None,
        "compile": {"setting": "default", "graphs": 2, "graph_breaks": 1, "compile_s": 3.2},
    },
}
ENGINE_FLUSH = {"keras": True, "keras-jax": True, "torch": False, "torch-compile": False}
ENGINE_FIRST_STEP_S = {"keras": 1.0, "keras-jax": 0.9, "torch": 0.3, "torch-compile": 3.5}
ENGINE_STEP_MS = {
    "keras": {"lstm": 20.0, "gru": 20.0},
    "keras-jax": {"lstm": 16.0, "gru": 18.0},
    "torch": {"lstm": 30.0, "gru": 20.0},
    "torch-compile": {"lstm": 29.0, "gru": 21.0},
}
#: keras-jax (the dense group) is 1.5-2.2 points below keras on LSTM; torch and torch.compile (keras'
#: group) are within 0.2 points of keras; on GRU nobody is clearly apart.
ENGINE_TEST_ACC = {
    "keras": {"lstm": (0.80, 0.82, 0.84), "gru": (0.78, 0.80, 0.82)},
    "keras-jax": {"lstm": (0.785, 0.798, 0.822), "gru": (0.785, 0.796, 0.822)},
    "torch": {"lstm": (0.801, 0.819, 0.842), "gru": (0.781, 0.799, 0.821)},
    "torch-compile": {"lstm": (0.801, 0.819, 0.842), "gru": (0.781, 0.799, 0.821)},
}
EXECUTION = {"executor": "dask", "host": "testhost", "shared_machine": False, "cpus": None}
#: The jobs that did not run alone on the usual kind of host, and how each ran.
SHARED_JOB = "torch-gru-s2"  # ran beside other jobs (bench run --parallel): 10x slower steps
OTHER_KIND_JOB = "keras-jax-lstm-s1"  # on a faster kind of host
OTHER_HOST_JOB = "keras-gru-s1"  # on a second host of the usual kind
OTHER_KIND_ENV = {**ENVIRONMENT, "hostname": "otherhost", "cpu_model": "Other CPU @ 3.0GHz"}


def engines() -> list[dict[str, Any]]:
    """Three seeds of four engines x two cells with the runtime facts and execution objects of the engines'
    and executors' records, including one job that shared its machine and one on another kind of host."""
    out = []
    for engine, runtime in ENGINE_RUNTIME.items():
        for cell in ("lstm", "gru"):
            for seed in (0, 1, 2):
                job = f"{engine}-{cell}-s{seed}"
                step_ms = ENGINE_STEP_MS[engine][cell]
                execution, env = dict(EXECUTION), ENVIRONMENT
                if job == SHARED_JOB:
                    step_ms *= 10
                    execution.update(shared_machine=True, cpus=[1])
                elif job == OTHER_KIND_JOB:
                    step_ms /= 2
                    execution.update(host="otherhost")
                    env = OTHER_KIND_ENV
                elif job == OTHER_HOST_JOB:
                    execution.update(host="testhost-b")
                val = tuple(v + 0.01 * seed - (0.01 if engine == "keras-jax" else 0.0) for v in KERAS_VAL)
                out.append(
                    record(
                        engine,
                        cell,
                        seed,
                        step_ms=step_ms,
                        step_noise=0.02,
                        val_accs=val,
                        test_acc=ENGINE_TEST_ACC[engine][cell][seed],
                        first_step_s=ENGINE_FIRST_STEP_S[engine],
                        environment=env,
                        rng_seed=100 + len(out),
                        runtime={**runtime, "flush_denormal": ENGINE_FLUSH[engine]},
                        execution=execution,
                    )
                )
    return out


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
        write_run(root, "engines", engines()),
    ]


if __name__ == "__main__":
    for path in write_all():
        print(path)
