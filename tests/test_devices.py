"""``--device cpu|gpu|auto`` without a GPU: the cheap machine check (a fake ``nvidia-smi``), its one-line
refusal before any data is prepared, what nvidia-smi says about a job's GPU, how an engine resolves the
request, and the device kinds that comparisons use. No framework is imported."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from backends.base import BackendOptions, load_backend, resolve_backends
from backends.device import CPU, GPU, resolve_device, version_text
from harness import devices
from harness.cli import cli
from harness.devices import cuda_index, device_kind, require_gpu, smi_gpu_facts, visible_gpus
from harness.errors import BenchError
from tests.gpu_fakes import calls, fake_nvidia_smi, path_with
from tests.tiny_runs import TINY


@pytest.fixture
def no_gpu(tmp_path, monkeypatch):
    """A machine whose nvidia-smi lists no GPU."""
    monkeypatch.setenv("PATH", path_with(fake_nvidia_smi(tmp_path / "bin", [])))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


@pytest.fixture
def one_gpu(tmp_path, monkeypatch):
    folder = fake_nvidia_smi(tmp_path / "bin", ["NVIDIA H200"])
    monkeypatch.setenv("PATH", path_with(folder))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return folder


def test_cpu_and_auto_need_no_gpu(no_gpu):
    assert visible_gpus() == []
    require_gpu("cpu")
    require_gpu("auto")


def test_a_listed_gpu_is_seen(one_gpu):
    assert visible_gpus() == ["NVIDIA H200"]
    require_gpu("gpu")
    assert calls(one_gpu) == ["-L", "-L"]


@pytest.mark.parametrize(
    "machine, why",
    [
        ("listed-none", "nvidia-smi -L lists none"),
        ("hidden", "CUDA_VISIBLE_DEVICES='' hides every GPU"),
        ("no-driver", "no nvidia-smi and no"),
    ],
)
def test_gpu_without_one_is_a_one_line_error(tmp_path, monkeypatch, machine, why):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    if machine == "listed-none":
        monkeypatch.setenv("PATH", path_with(fake_nvidia_smi(tmp_path / "bin", [])))
    elif machine == "hidden":  # a GPU is there, but the environment hides it from every framework
        monkeypatch.setenv("PATH", path_with(fake_nvidia_smi(tmp_path / "bin", ["NVIDIA H200"])))
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    else:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        monkeypatch.setattr(devices, "PROC_GPUS", tmp_path / "no-proc")
    with pytest.raises(BenchError) as err:
        require_gpu("gpu")
    message = str(err.value)
    assert message.startswith("--device gpu, but no NVIDIA GPU is visible here") and why in message
    assert "\n" not in message and err.value.exit_code == 2


def test_without_nvidia_smi_the_driver_entries_are_read(tmp_path, monkeypatch):
    proc = tmp_path / "gpus"
    (proc / "0000:01:00.0").mkdir(parents=True)
    (proc / "0000:01:00.0" / "information").write_text("Model:           NVIDIA A100-SXM4-80GB\nIRQ: 1\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(devices, "PROC_GPUS", proc)
    assert visible_gpus() == ["NVIDIA A100-SXM4-80GB"]


def test_nvidia_smi_facts_of_the_gpu_the_job_used(tmp_path, monkeypatch):
    folder = fake_nvidia_smi(tmp_path / "bin", ["A", "B", "C", "D"], query="NVIDIA H200, 575.57.08, 9.0, 143771")
    monkeypatch.setenv("PATH", path_with(folder))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    # CUDA's device 1 is the second visible one: physical GPU 1.
    facts = smi_gpu_facts(1)
    assert facts == {"name": "NVIDIA H200", "driver": "575.57.08", "compute_capability": "9.0", "memory_mb": 143771.0}
    assert calls(folder)[-1].endswith("-i 1")


def test_nvidia_smi_fields_it_cannot_report_are_left_out(tmp_path, monkeypatch):
    folder = fake_nvidia_smi(tmp_path / "bin", ["A"], query="NVIDIA T4, 535.1, [N/A], [Not Supported]")
    monkeypatch.setenv("PATH", path_with(folder))
    assert smi_gpu_facts(0) == {"name": "NVIDIA T4", "driver": "535.1"}
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert smi_gpu_facts(0) == {}


@pytest.mark.parametrize(
    "device, kind, index",
    [("cuda:0", "gpu", 0), ("cuda:3", "gpu", 3), ("gpu", "gpu", 0), ("cpu", "cpu", None), (None, "cpu", None)],
)
def test_device_kinds(device, kind, index):
    # None: a record from before devices were recorded, which ran on the CPU.
    assert device_kind(device) == kind and cuda_index(device) == index


def test_an_engine_resolves_the_request_by_what_its_framework_sees():
    assert resolve_device("cpu", True, "torch", "") == CPU
    assert resolve_device("auto", True, "torch", "") == GPU == "cuda:0"
    assert resolve_device("auto", False, "torch", "") == CPU
    assert resolve_device("gpu", True, "torch", "") == GPU
    with pytest.raises(BenchError) as err:
        resolve_device("gpu", False, "torch", "torch 2.13.0+cpu is a CPU build")
    assert "backend 'torch' sees no GPU (torch 2.13.0+cpu is a CPU build)" in str(err.value)
    assert "\n" not in str(err.value)


def test_cuda_library_versions_as_text():
    assert version_text(12040, "cuda") == "12.4" and version_text(13000, "cuda") == "13.0"
    assert version_text(91002, "cudnn") == "9.10.2" and version_text(8905, "cudnn") == "8.9.5"
    assert version_text(None, "cuda") is None and version_text(0, "cudnn") is None


def test_an_engine_that_trains_on_the_cpu_only_refuses_gpu(test_backends):
    with pytest.raises(BenchError, match="backend 'numpy-fake' trains on the CPU only"):
        resolve_backends(["numpy-fake"], "gpu")
    assert [r.name for r in resolve_backends(["numpy-fake"], "auto")] == ["numpy-fake"]
    with pytest.raises(BenchError, match="trains on the CPU only"):
        load_backend("numpy-fake")(BackendOptions(device="gpu"))
    with pytest.raises(BenchError, match="unknown device 'tpu'"):
        load_backend("numpy-fake")(BackendOptions(device="tpu"))


@pytest.mark.parametrize("command", [["run", *TINY, "--epochs", "1"], ["parity", "--cells", "gru", "--steps", "0"]])
def test_bench_refuses_gpu_without_one_before_any_data(no_gpu, tmp_path, user_cache, command):
    results = tmp_path / "results"
    args = [*command, "--device", "gpu", *(["--results", str(results)] if command[0] == "run" else [])]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --device gpu, but no NVIDIA GPU is visible here")
    assert not results.exists()  # no run folder
    assert not any(user_cache.rglob("*.npz"))  # no data prepared


def test_bench_run_refuses_a_cpu_only_engine_for_gpu(one_gpu, tmp_path, test_backends):
    result = CliRunner().invoke(
        cli, ["run", *TINY, "--device", "gpu", "--backends", "numpy-fake", "--results", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: backend 'numpy-fake' trains on the CPU only; use --device cpu or auto, or choose another backend"
    )


def test_the_machine_check_applies_where_the_jobs_run(no_gpu, tmp_path):
    """Local jobs and --parallel run here: refused. Jobs on a Dask cluster run on its workers' hosts, where
    each engine decides (a worker without a GPU fails its job in one line)."""
    from harness.executors.base import ExecutorConfig
    from harness.runner import _require_gpu_here
    from tests.tiny_runs import tiny_config

    for executor in (ExecutorConfig(), ExecutorConfig("dask", parallel=2)):
        with pytest.raises(BenchError, match="no NVIDIA GPU is visible here"):
            _require_gpu_here(tiny_config(tmp_path, device="gpu", executor=executor))
    _require_gpu_here(tiny_config(tmp_path, device="gpu", executor=ExecutorConfig("dask", scheduler="tcp://h:8786")))
    _require_gpu_here(tiny_config(tmp_path, device="auto"))
