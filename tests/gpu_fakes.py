"""A fake ``nvidia-smi`` for tests of the GPU side on machines without a GPU: a script on PATH that lists the
GPUs it is told to (``-L``), answers ``--query-gpu``, and logs its arguments."""

from __future__ import annotations

import os
import stat
from pathlib import Path

FAKE_SMI_QUERY = "Fake GPU 80GB, 575.57.08, 9.0, 81559"


def fake_nvidia_smi(folder: Path, gpus: list[str], query: str = FAKE_SMI_QUERY) -> Path:
    """Write ``folder/nvidia-smi`` (and return ``folder``, to put first on PATH). With no ``gpus`` it behaves
    as nvidia-smi does on a machine whose driver sees none (exit 6 for ``-L``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "list.txt").write_text(
        "".join(f"GPU {i}: {name} (UUID: GPU-{i:08d}-fake)\n" for i, name in enumerate(gpus))
    )
    (folder / "query.txt").write_text(query + "\n")
    found = "0" if gpus else "6"  # nvidia-smi's exit code when the driver sees no GPU
    script = folder / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> "{folder}/calls.log"\n'
        f'[ {found} = 0 ] || {{ echo "No devices were found"; exit 6; }}\n'
        'case "$1" in\n'
        f'  -L) cat "{folder}/list.txt" ;;\n'
        f'  --query-gpu=*) cat "{folder}/query.txt" ;;\n'
        "  *) echo fake nvidia-smi ;;\n"
        "esac\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


def path_with(folder: Path) -> str:
    return os.pathsep.join([str(folder), os.environ.get("PATH", "")])


def calls(folder: Path) -> list[str]:
    log = folder / "calls.log"
    return log.read_text().splitlines() if log.is_file() else []
