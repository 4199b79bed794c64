"""The GPU side of ``bench run``, ``bench report`` and ``bench check`` on a machine without a GPU: a fake
nvidia-smi lists a GPU, and ``numpy-fakegpu`` (tests/plugins) pretends to train on it. What is checked is
real: the request reaching the worker, the device the engine reports, the GPU facts merged from the
framework and nvidia-smi, the peak device memory, the manifest, the report's columns and the refusal to
compare across devices; and, with a real framework, the worker-side refusal of a CPU build."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.executors.base import ExecutorConfig
from harness.manifest import read_manifest
from harness.progress import LineProgress
from harness.records import GpuInfo, JobRecord, read_record
from harness.runner import start
from tests.gpu_fakes import fake_nvidia_smi, path_with
from tests.tiny_runs import SPEC, tiny_config


@pytest.fixture
def fake_gpu(tmp_path, monkeypatch, test_backends):
    """nvidia-smi lists one GPU; numpy-fakegpu sees it (in this process and in the workers)."""
    monkeypatch.setenv("PATH", path_with(fake_nvidia_smi(tmp_path / "bin", ["Fake GPU 80GB"])))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("RNN_BENCH_FAKE_GPU", "1")


def run(tmp_path: Path, name: str, device: str, backends=("numpy-fakegpu",)) -> Path:
    config = tiny_config(
        tmp_path / "results",
        name=name,
        backends=backends,
        cells=("lstm",),
        device=device,
        executor=ExecutorConfig(accuracy_only=True),
    )
    folder, _ = start(config, LineProgress)
    return folder.path


def only_record(run_dir: Path) -> JobRecord:
    (path,) = sorted((run_dir / "jobs").glob("*.json"))
    return read_record(path)


def test_a_gpu_job_records_what_was_asked_what_ran_and_the_gpu(tmp_path, fake_gpu):
    run_dir = run(tmp_path, "g", "gpu")
    assert read_manifest(run_dir / "manifest.json").device == "gpu"
    record = only_record(run_dir)
    assert record.ok, record.error
    assert record.runtime["device_requested"] == "gpu" and record.runtime["device"] == "cuda:0"
    assert record.runtime["tf32"] is False  # matched mode
    # The framework's facts, with nvidia-smi's driver and memory filling in what it does not say.
    assert record.environment.gpu == GpuInfo(
        name="Fake GPU 80GB",
        compute_capability="9.0",
        memory_mb=81559.0,
        driver="575.57.08",
        cuda="13.0",
        cudnn="9.10.2",
    )
    # The fake's peak: its embedding (the matched initial weights, float32) and one full batch (int32 ids, float32
    # labels), reset at the start.
    batch = SPEC.batch_size
    expected = (SPEC.vocab_size * SPEC.embed_dim * 4 + batch * SPEC.maxlen * 4 + batch * 4) / float(1 << 20)
    assert record.peak_device_mb == pytest.approx(expected)


def test_auto_uses_the_gpu_only_where_the_engine_sees_one(tmp_path, fake_gpu, monkeypatch):
    run_dir = run(tmp_path, "a", "auto", backends=("numpy-fakegpu", "numpy-fake"))
    records = {p.stem: read_record(p) for p in (run_dir / "jobs").glob("*.json")}
    gpu, cpu = records["numpy-fakegpu-lstm-s0"], records["numpy-fake-lstm-s0"]  # numpy-fake cannot use a GPU
    assert gpu.runtime["device"] == "cuda:0" and gpu.environment.gpu is not None and gpu.peak_device_mb > 0
    assert cpu.runtime["device_requested"] == "auto" and cpu.runtime.get("device") == "cpu"
    assert cpu.environment.gpu is None and cpu.peak_device_mb is None
    monkeypatch.delenv("RNN_BENCH_FAKE_GPU")  # now the engine's "framework" sees none: the CPU
    record = only_record(run(tmp_path, "b", "auto"))
    assert record.runtime["device"] == "cpu" and record.environment.gpu is None


def test_a_gpu_run_is_reported_and_never_compared_with_a_cpu_run(tmp_path, fake_gpu):
    gpu_run, cpu_run = run(tmp_path, "g", "gpu"), run(tmp_path, "c", "cpu")
    assert only_record(cpu_run).runtime["device"] == "cpu" and only_record(cpu_run).peak_device_mb is None
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["report", str(gpu_run), "--out", str(out), "--format", "md,csv"])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    summary_header = next(line for line in report.splitlines() if line.startswith("| backend | cell | mode"))
    assert "peak_rss_mb | peak_device_mb" in summary_header
    engines_header = next(line for line in report.splitlines() if "| kernel path |" in line)
    assert "| device | TF32 |" in engines_header and "| cuda:0 | off |" in report
    assert "Fake GPU 80GB" in report  # the host kind: CPU model + GPU

    result = CliRunner().invoke(
        cli, ["check", "--baseline", str(cpu_run), "--candidate", str(gpu_run), "--results", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: baseline and candidate trained on different devices (cpu vs gpu): a GPU's step times say nothing "
        "about a CPU's; compare runs on the same device (bench run --device)"
    ]


def test_a_resumed_run_keeps_its_device(tmp_path, fake_gpu):
    run_dir = run(tmp_path, "g", "gpu")
    (run_dir / "jobs" / "numpy-fakegpu-lstm-s0.json").unlink()
    config = tiny_config(tmp_path / "results", backends=("numpy-fake",), device="cpu")
    folder, statuses = start(config, LineProgress, resume=str(run_dir))
    assert statuses == {"numpy-fakegpu-lstm-s0": "ok"}
    assert only_record(folder.path).runtime["device_requested"] == "gpu"


def test_a_step_that_returns_a_lazy_loss_fails_the_job(tmp_path, test_backends):
    record = only_record(run(tmp_path, "l", "cpu", backends=("numpy-lazyloss",)))
    assert record.status == "failed"
    assert record.error == (
        "backend 'numpy-lazyloss' returned its step's loss as numpy.float32, not a Python float: a step must end "
        "with the loss on the host (docs/methodology.md, 'The step'), so that its time includes all of the "
        "device's work"
    )


def test_a_framework_without_cuda_fails_the_gpu_job_in_one_line(tmp_path, fake_gpu):
    """The machine shows a GPU (so bench starts), but this torch is a CPU build: the worker says so."""
    import importlib.metadata

    record = only_record(run(tmp_path, "t", "gpu", backends=("torch",)))
    assert record.status == "failed" and record.runtime["device_requested"] == "gpu"
    version = importlib.metadata.version("torch")
    assert record.error.startswith(f"--device gpu, but backend 'torch' sees no GPU (torch {version}")
    assert "docs/gpu.md" in record.error and "\n" not in record.error
    assert record.environment.gpu is None and record.peak_device_mb is None
