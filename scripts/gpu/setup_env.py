"""Install the CUDA builds of the frameworks into the current environment (``make setup GPU=1``; docs/gpu.md).

pyproject's ``dependencies`` pin the CPU builds (torch 2.13.0 from this machine's disk, tensorflow-cpu, the
CPU jaxlib), so ``pip install '.[gpu]'`` cannot work: it would install both TensorFlows. This installs
rnn-bench without its dependencies, then every dependency except those CPU builds, the ``gpu`` extra's CUDA
builds in their place, and the ``dev`` extra. The CPU set-up (``make setup``) is untouched.

    python -m scripts.gpu.setup_env [--frameworks all|none|torch,tensorflow,jax] [--dry-run]

``--frameworks none`` is for a machine whose frameworks came preinstalled (a GPU image with its own torch and
JAX, often without TensorFlow): only what rnn-bench itself needs is installed, and every engine whose
framework is absent is listed as not installed by ``bench backends``. Standard library only.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Requirement names in ``dependencies`` that are CPU builds of a framework: replaced on a GPU machine.
CPU_BUILDS = ("torch", "tensorflow-cpu", "jax", "jaxlib")
#: ``--frameworks`` names -> the requirement name in the ``gpu`` extra.
FRAMEWORKS = {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}


def requirement_name(requirement: str) -> str:
    """The distribution a requirement names, normalised ("tensorflow[and-cuda]==2.21.0" -> "tensorflow")."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match[1]).lower()


def read_project(pyproject: Path = ROOT / "pyproject.toml") -> dict:
    with open(pyproject, "rb") as handle:
        return tomllib.load(handle)["project"]


def choose_frameworks(text: str) -> list[str]:
    if text == "all":
        return list(FRAMEWORKS)
    if text == "none":
        return []
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in FRAMEWORKS]
    if unknown:
        raise SystemExit(f"error: unknown framework(s) {', '.join(unknown)}; valid: all, none, {', '.join(FRAMEWORKS)}")
    return chosen


def plan(project: dict, frameworks: Sequence[str], extras: Sequence[str] = ("dev",)) -> list[list[str]]:
    """The pip commands (arguments after ``python -m pip``) that set up a GPU machine."""
    optional = project["optional-dependencies"]
    base = [r for r in project["dependencies"] if requirement_name(r) not in CPU_BUILDS]
    wanted = {FRAMEWORKS[name] for name in frameworks}
    cuda = [r for r in optional["gpu"] if requirement_name(r) in wanted]
    rest = [r for extra in extras for r in optional[extra]]
    return [["install", "--no-deps", "-e", str(ROOT)], ["install", *base, *cuda, *rest]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.gpu.setup_env", description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", default="all", help="all (default), none, or a list of torch,tensorflow,jax")
    parser.add_argument("--dry-run", action="store_true", help="print the pip commands; install nothing")
    args = parser.parse_args(argv)
    for command in plan(read_project(), choose_frameworks(args.frameworks)):
        argv_ = [sys.executable, "-m", "pip", *command]
        print(shlex.join(argv_), flush=True)
        if not args.dry_run:
            subprocess.run(argv_, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
