"""The GPU smoke script's CPU-runnable parts: its one-line refusal without a GPU (a fake nvidia-smi that lists
none), its plan (``--device=cpu --dry-run``), the summary it prints from a run's records, the packed run
folder, the step-timing check on the CPU, and the GPU set-up plan (pyproject's extras)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from scripts.gpu import setup_env
from scripts.gpu.smoke import JOB_COLUMNS, Outcome, pack_run, summary_text
from tests.gpu_fakes import fake_nvidia_smi, path_with

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gpu" / "gpu_smoke.sh"
ENGINES_RUN = ROOT / "tests" / "fixtures" / "runs" / "report" / "engines"


def smoke(tmp_path: Path, *args: str, gpus: list[str] = ()) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PATH": path_with(fake_nvidia_smi(tmp_path / "bin", list(gpus))),
        "PYTHON": sys.executable,
        "OUT": str(tmp_path / "out"),
        "WORK": str(tmp_path / "work"),
        "WHEELS": str(tmp_path / "no-wheels"),
        "SITE": str(tmp_path / "site"),
    }
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120)


def test_without_a_gpu_the_smoke_refuses_in_one_line(tmp_path):
    done = smoke(tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: --device gpu, but no NVIDIA GPU is visible here (nvidia-smi -L lists none); run on a GPU machine "
        "or use --device cpu"
    ]
    assert not (tmp_path / "out").exists() and not (tmp_path / "work").exists()


def test_the_dry_run_prints_every_stage_for_the_installed_engines(tmp_path):
    done = smoke(tmp_path, "--device=cpu", "--dry-run")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "engines here: keras, keras-xla, keras-jax, keras-torch, torch, torch-compile"
    stages = [line.split("]")[0].split(",")[0].lstrip("[") for line in lines[1:]]
    assert stages == ["run", "report", "step-sync", "parity"]
    run, report, sync, parity = lines[1:]
    assert "harness.cli run --device cpu --backends keras,keras-xla,keras-jax,keras-torch,torch,torch-compile" in run
    assert "--cells simplernn,lstm,gru --data synthetic:train=2560,test=512 --epochs 1" in run
    assert f"harness.cli report {tmp_path / 'work' / 'gpu-smoke'}" in report
    assert "scripts.gpu.step_sync --engines keras,keras-xla" in sync and "--device cpu" in sync
    assert (
        f"harness.cli parity --device cpu --backends all --jobs 3 --save {tmp_path / 'out' / 'parity.json'}" in parity
    )
    assert not (tmp_path / "site").exists()  # a dry run unpacks nothing


def test_unknown_arguments_are_refused(tmp_path):
    done = smoke(tmp_path, "--devices=gpu")
    assert done.returncode == 2 and done.stderr.startswith("error: unknown argument --devices=gpu")


def test_the_summary_lists_every_job_with_device_kernel_and_memory():
    text = summary_text(
        ENGINES_RUN, [Outcome("run", 0, 12.0, False), Outcome("parity", None, 0.0, False)], "gpu", ["torch"]
    )
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table[0] == "| " + " | ".join(JOB_COLUMNS) + " |"
    jobs = len(list((ENGINES_RUN / "jobs").glob("*.json")))
    rows = table[1 : 1 + jobs]
    assert len(rows) == jobs
    torch_lstm = next(r for r in rows if r.startswith("| torch | lstm | ok |"))
    cells = [c.strip() for c in torch_lstm.strip("|").split("|")]
    assert cells[4] == "- -> -"  # records from before devices: nothing asked, nothing said
    assert float(cells[8]) > 0 and cells[11] == "-"  # a median step; no device memory on the CPU
    assert "| parity | not run: no time left | 0 | no |" in text


def test_the_run_is_packed_without_its_prepared_data(tmp_path):
    run = tmp_path / "gpu-smoke"
    (run / "jobs").mkdir(parents=True)
    (run / "manifest.json").write_text("{}")
    (run / "jobs" / "torch-lstm-s0.json").write_text("{}")
    (run / "prepared.npz").write_bytes(b"0" * 1000)
    pack_run(run, tmp_path / "run.tar.gz")
    with tarfile.open(tmp_path / "run.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["gpu-smoke/jobs/torch-lstm-s0.json", "gpu-smoke/manifest.json"]


def test_the_step_timing_check_runs_on_the_cpu():
    """On the CPU nothing is asynchronous: the synchronise after a step waits for nothing, and passes."""
    argv = [sys.executable, "-m", "scripts.gpu.step_sync", "--engines", "torch", "--device", "cpu"]
    done = subprocess.run(
        [*argv, "--batch-size", "8", "--length", "10"], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert line.startswith("torch          lstm      on cpu") and line.endswith(": ok")


# -- the GPU set-up ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project():
    return setup_env.read_project()


def names(requirements: list[str]) -> set[str]:
    return {setup_env.requirement_name(r) for r in requirements}


def test_the_cpu_set_up_is_unchanged(project):
    """``make setup`` installs pyproject's dependencies as before: the CPU builds."""
    deps = project["dependencies"]
    assert "torch==2.13.0" in deps and "tensorflow-cpu==2.21.0" in deps
    assert not names(deps) & {"tensorflow", "jax-cuda12-plugin"}
    assert "$(BIN)/python -m pip install --quiet -e '.[dev]'" in (ROOT / "Makefile").read_text()


def test_the_gpu_set_up_swaps_the_cpu_builds_for_cuda_ones(project):
    editable, install = setup_env.plan(project, setup_env.choose_frameworks("all"))
    assert editable == ["install", "--no-deps", "-e", str(ROOT)]
    requirements = install[1:]
    assert {"tensorflow[and-cuda]==2.21.0", "jax[cuda12]>=0.4.30", "torch==2.13.0"} <= set(requirements)
    assert not names(requirements) & {"tensorflow-cpu", "jaxlib"}
    # Every other dependency, and the dev extra, are kept.
    kept = names(project["dependencies"]) - set(setup_env.CPU_BUILDS)
    assert kept | names(project["optional-dependencies"]["dev"]) <= names(requirements)


def test_preinstalled_frameworks_are_left_alone(project):
    _, install = setup_env.plan(project, setup_env.choose_frameworks("none"))
    assert not names(install[1:]) & {"torch", "tensorflow", "tensorflow-cpu", "jax", "jaxlib"}
    assert {"keras", "jsonschema", "numpy"} <= names(install[1:])
    _, some = setup_env.plan(project, setup_env.choose_frameworks("torch,jax"))
    assert names(some[1:]) & {"torch", "tensorflow", "jax"} == {"torch", "jax"}
    with pytest.raises(SystemExit, match="unknown framework"):
        setup_env.choose_frameworks("torch,mxnet")


def test_setup_env_dry_run_prints_pip_commands():
    done = subprocess.run(
        [sys.executable, "-m", "scripts.gpu.setup_env", "--dry-run", "--frameworks", "jax"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.endswith(f"-m pip install --no-deps -e {ROOT}")
    assert "'jax[cuda12]>=0.4.30'" in second and "torch" not in second and "tensorflow" not in second
