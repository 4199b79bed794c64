"""The GPU smoke run, in one prepared command (``scripts/gpu/gpu_smoke.sh`` calls it; docs/gpu.md).

On one GPU, within a time budget, with the frameworks installed there: a short IMDB-shaped run of every
available engine x the three cells (synthetic data, real sequence length 500, one epoch) and its report,
``bench parity --device gpu`` for every available engine, and the step-timing check (``step_sync``). Prints
step times, kernel paths and peak device memory, and writes at most eight files to ``--out``:

- ``environment.txt``: nvidia-smi, Python, the frameworks' versions, ``bench backends``;
- ``summary.md``: per job the device, kernel path, TF32, determinism, median/first step, peak device memory
  and peak RSS; and each stage's exit code and time;
- ``report.md``: ``bench report`` of the run;
- ``parity.txt`` and ``parity.json``: ``bench parity``'s tables and full result;
- ``step_sync.txt``: the step-timing check;
- ``run.tar.gz``: the run folder (manifest, job records, job logs, summary.csv), prepared data left out.

Every stage runs as its own ``bench``/``python`` process with a timeout (SIGTERM, then SIGKILL): a stage that
overruns is stopped, the next still runs, and whatever was written is kept. ``--dry-run`` prints the stages'
commands and runs nothing (``--device cpu --dry-run`` works on any machine).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.devices import DEVICE_REQUESTS, require_gpu
from harness.errors import BenchError

CELLS = ("simplernn", "lstm", "gru")
#: IMDB-shaped: 2,048 training reviews after the 20% validation split (16 steps of 128), length 500.
DATA = "synthetic:train=2560,test=512"
RUN_NAME = "gpu-smoke"
#: The whole smoke must finish within 8 minutes on one GPU: the stages share this budget.
BUDGET_S = 450.0
#: After SIGTERM a stage gets this long to stop its workers and write what it has.
STOP_GRACE_S = 20.0
#: A stage is skipped when less than this is left of the budget.
MIN_STAGE_S = 20.0
PACKAGES = ("torch", "jax", "jaxlib", "tensorflow", "keras", "numpy", "jsonschema")


@dataclass(frozen=True)
class Stage:
    name: str
    argv: tuple[str, ...]
    timeout_s: float
    log: str | None  # file under --out for its stdout and stderr; None: into the run folder


@dataclass(frozen=True)
class Outcome:
    stage: str
    code: int | None  # None: not run (no time left)
    seconds: float
    stopped: bool  # ran past its timeout and was stopped


def available_engines() -> list[str]:
    """The built-in engines whose packages are installed here (looked up, nothing imported)."""
    from backends.base import BUILTIN, load_backend, missing_package

    return [name for name in BUILTIN if missing_package(load_backend(name)) is None]


def stages(engines: Sequence[str], device: str, work: Path, out: Path) -> list[Stage]:
    """The smoke's stages, in order: the run and its report first (step times, kernel paths, memory), then
    the step-timing check, then parity."""
    bench = (sys.executable, "-m", "harness.cli")
    run_dir = work / RUN_NAME
    run = (
        *("run", "--device", device, "--backends", ",".join(engines), "--cells", ",".join(CELLS)),
        *("--data", DATA, "--epochs", "1", "--results", str(work), "--name", RUN_NAME),
        *("--timeout", "150", "--quiet"),
    )
    parity = ("parity", "--device", device, "--backends", "all", "--jobs", "3", "--save", str(out / "parity.json"))
    sync = (sys.executable, "-m", "scripts.gpu.step_sync", "--engines", ",".join(engines), "--device", device)
    return [
        Stage("run", (*bench, *run), 220.0, None),
        Stage(
            "report", (*bench, "report", str(run_dir), "--out", str(work / "report"), "--format", "md,csv"), 40, None
        ),
        Stage("step-sync", (*sync, "--timeout", "60"), 100.0, "step_sync.txt"),
        # Last: the longest, and it prints only when done (with less time left it is stopped, and says so).
        Stage("parity", (*bench, *parity), 170.0, "parity.txt"),
    ]


def run_stage(stage: Stage, log: Path, timeout_s: float) -> Outcome:
    """Run one stage with its output in ``log``; past ``timeout_s`` SIGTERM (bench stops its workers and
    keeps what finished), then SIGKILL."""
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as handle:
        proc = subprocess.Popen(stage.argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        stopped = False
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            stopped = True
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        except BaseException:  # Ctrl-C of the smoke itself: no orphaned stage
            proc.kill()
            proc.wait()
            raise
    return Outcome(stage.name, code, time.monotonic() - start, stopped)


def environment_text(device: str) -> str:
    """What the machine and its software are, without importing a framework."""
    lines = [f"python {platform.python_version()} on {platform.platform()}", f"--device {device}", ""]
    for package in PACKAGES:
        try:
            lines.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            lines.append(f"{package}: not installed")
    smi = shutil.which("nvidia-smi")
    lines += ["", "$ nvidia-smi"]
    lines.append(_output([smi]) if smi else "nvidia-smi: not installed")
    lines += ["", "$ bench backends", _output([sys.executable, "-m", "harness.cli", "backends"])]
    return "\n".join(lines) + "\n"


def _output(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as err:
        return f"{shlex.join(argv)}: {err}"
    return (done.stdout + done.stderr).rstrip()


def job_rows(run_dir: Path) -> list[tuple[str, ...]]:
    """One row per job record of the run: what ran where, its step times and memory."""
    from harness import derive, stats
    from harness.records import iter_job_files, read_record

    rows = []
    for path in iter_job_files(run_dir):
        try:
            r = read_record(path)
        except BenchError as err:
            rows.append((path.stem, "-", "unreadable", str(err), *("-",) * 10))
            continue
        rt = r.runtime
        steps = stats.summarize(derive.timed_steps(r) * 1000.0)
        gpu = r.environment.gpu.name if r.environment.gpu else "-"
        rows.append(
            (
                r.backend,
                r.cell,
                r.status,
                r.error or "",
                f"{rt.get('device_requested', '-')} -> {rt.get('device', '-')}",
                str(rt.get("kernel_path")),
                _fact(rt.get("tf32")),
                _fact(rt.get("deterministic")),
                _number(steps.median if steps.n else None, ".3f"),
                str(steps.n),
                _number(r.first_step_s, ".2f"),
                _number(r.peak_device_mb, ",.0f"),
                _number(r.peak_rss_mb, ",.0f"),
                gpu,
            )
        )
    return rows


JOB_COLUMNS = (
    "backend",
    "cell",
    "status",
    "error",
    "device (asked -> used)",
    "kernel path",
    "TF32",
    "deterministic",
    "median step (ms)",
    "timed steps",
    "first step (s)",
    "peak device (MiB)",
    "peak RSS (MiB)",
    "GPU",
)


def _fact(value: object) -> str:
    return "-" if value is None else str(value).lower()


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_text(run_dir: Path, outcomes: Sequence[Outcome], device: str, engines: Sequence[str]) -> str:
    stage_rows = [
        (
            o.stage,
            "not run: no time left" if o.code is None else str(o.code),
            f"{o.seconds:.0f}",
            "yes" if o.stopped else "no",
        )
        for o in outcomes
    ]
    parts = [
        f"# GPU smoke: --device {device}, engines {', '.join(engines) or 'none'}",
        "",
        f"Data {DATA}, one epoch, cells {', '.join(CELLS)}; step times over the timed steps (the first 5 and "
        "partial batches left out). Measured by this script on the machine in environment.txt.",
        "",
        markdown_table(JOB_COLUMNS, job_rows(run_dir))
        if run_dir.is_dir()
        else "No run folder: the run stage wrote nothing.",
        "",
        "## Stages",
        "",
        markdown_table(("stage", "exit code", "seconds", "stopped at its timeout"), stage_rows),
    ]
    return "\n".join(parts) + "\n"


def pack_run(run_dir: Path, target: Path) -> None:
    """The run folder as a .tar.gz, its prepared data (large, regenerable) left out."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(run_dir.rglob("*")):
            if path.is_file() and path.suffix != ".npz":
                tar.add(path, arcname=str(path.relative_to(run_dir.parent)))
    target.write_bytes(buffer.getvalue())


def smoke(device: str, out: Path, work: Path, budget_s: float, dry_run: bool) -> int:
    require_gpu(device)  # one line, exit 2, before anything runs
    engines = available_engines()
    plan = stages(engines, device, work, out)
    if dry_run:
        print(f"engines here: {', '.join(engines) or 'none'}")
        for stage in plan:
            print(f"[{stage.name}, at most {stage.timeout_s:.0f} s] {shlex.join(stage.argv)}")
        return 0
    if not engines:
        raise BenchError("no engine is installed here: nothing to run (bench backends says why)")
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    (out / "environment.txt").write_text(environment_text(device), encoding="utf-8")
    deadline = time.monotonic() + budget_s
    outcomes = []
    for stage in plan:
        left = deadline - time.monotonic()
        if left < MIN_STAGE_S:
            outcomes.append(Outcome(stage.name, None, 0.0, False))
            continue
        log = out / stage.log if stage.log else work / f"{stage.name}.log"
        outcome = run_stage(stage, log, min(stage.timeout_s, left))
        outcomes.append(outcome)
        print(
            f"stage {stage.name}: exit {outcome.code}, {outcome.seconds:.0f} s"
            + (" (stopped)" if outcome.stopped else ""),
            flush=True,
        )
    run_dir = work / RUN_NAME
    summary = summary_text(run_dir, outcomes, device, engines)
    (out / "summary.md").write_text(summary, encoding="utf-8")
    print(summary)
    for name, source in (("report.md", work / "report" / "report.md"),):
        if source.is_file():
            shutil.copyfile(source, out / name)
    if run_dir.is_dir():
        for log in work.glob("*.log"):
            shutil.copyfile(log, run_dir / log.name)
        if (work / "report" / "summary.csv").is_file():
            shutil.copyfile(work / "report" / "summary.csv", run_dir / "summary.csv")
        pack_run(run_dir, out / "run.tar.gz")
    return 0 if all(o.code == 0 for o in outcomes) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.gpu.smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=DEVICE_REQUESTS, default="gpu")
    parser.add_argument("--out", type=Path, default=Path("gpu-smoke-out"), help="the files to bring back")
    parser.add_argument("--work", type=Path, default=Path("gpu-smoke-work"), help="the run folder and logs")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds for every stage together")
    parser.add_argument("--dry-run", action="store_true", help="print the stages' commands; run nothing")
    parser.add_argument("--preflight", action="store_true", help="only check for a GPU (one line, exit 2 if none)")
    args = parser.parse_args(argv)
    try:
        if args.preflight:
            require_gpu(args.device)
            return 0
        return smoke(args.device, args.out, args.work, args.budget, args.dry_run)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
