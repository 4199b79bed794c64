#!/usr/bin/env bash
# The GPU smoke run, one prepared command (docs/gpu.md, "The smoke run"). Run from anywhere:
#
#   scripts/gpu/gpu_smoke.sh [--device=gpu|auto|cpu] [--dry-run] [--budget=SECONDS]
#
# 1. Refuses in one line (exit 2) when --device gpu and this machine shows no NVIDIA GPU.
# 2. Installs nothing from the network: the wheels in .whl/ ($WHEELS; scripts/gpu/fetch_wheels.sh fetched them
#    on a machine with a package index: keras, jsonschema, pytest and their small dependencies) are unpacked
#    into .gpu-site/ ($SITE), which goes first on PYTHONPATH; the frameworks are the ones already installed.
# 3. Runs python -m scripts.gpu.smoke: the run of every available engine x the three cells, its report, the
#    step-timing check and bench parity, each stage with a timeout, within --budget seconds (default 450).
# Files to keep go to $OUT (default gpu-smoke-out/): at most eight.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PY=${PYTHON:-python3}
OUT=${OUT:-$PWD/gpu-smoke-out}
WORK=${WORK:-$PWD/gpu-smoke-work}
WHEELS=${WHEELS:-$PWD/.whl}
SITE=${SITE:-$PWD/.gpu-site}
device=gpu
dry_run=
args=()
for arg in "$@"; do
    case $arg in
        --device=*) device=${arg#--device=} ;;
        --dry-run)
            dry_run=1
            args+=("$arg")
            ;;
        --budget=*) args+=("$arg") ;;
        *)
            echo "error: unknown argument $arg; usage: scripts/gpu/gpu_smoke.sh [--device=gpu|auto|cpu] [--dry-run] [--budget=SECONDS]" >&2
            exit 2
            ;;
    esac
done
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"

# 1. A GPU, or one line and exit 2: harness/devices.py decides, as bench does (standard library only).
"$PY" -m scripts.gpu.smoke --device "$device" --preflight

# 2. The carried wheels, unpacked (a wheel is a zip file: no pip, no index, nothing replaced in site-packages).
if [ -z "$dry_run" ] && compgen -G "$WHEELS/*.whl" >/dev/null; then
    "$PY" - "$SITE" "$WHEELS"/*.whl <<'PYTHON'
import sys, zipfile
site = sys.argv[1]
for wheel in sys.argv[2:]:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
print(f"unpacked {len(sys.argv) - 2} wheels into {site}")
PYTHON
fi
"$PY" -c "import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ('jsonschema', 'keras')))" || echo "note: keras or jsonschema is missing: Keras engines are left out and records cannot be validated (scripts/gpu/fetch_wheels.sh)" >&2

# 3. The stages.
"$PY" -m scripts.gpu.smoke --device "$device" --out "$OUT" --work "$WORK" ${args[@]+"${args[@]}"}
