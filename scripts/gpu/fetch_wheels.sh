#!/usr/bin/env bash
# Download, on a machine with a package index, the wheels the GPU smoke run needs beside the frameworks a
# GPU image already has (torch, jax; numpy, pandas, scipy, matplotlib/seaborn, click, rich, pyarrow,
# threadpoolctl): keras and jsonschema with their dependencies, and pytest. Into .whl/ (ignored by git), for
# Python 3.12 on x86-64 Linux; carry that folder to the GPU machine beside the checkout
# (scripts/gpu/gpu_smoke.sh unpacks it there, offline).
#
#   scripts/gpu/fetch_wheels.sh [PYTHON_VERSION]      # default 3.12
#
# The versions are the ones the CPU set-up runs (Keras 3.15.1 is what the engines were checked with).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PY=${PYTHON:-python3}
version=${1:-3.12}
WHEELS=(
    keras==3.15.1 absl-py==2.5.1 namex==0.1.0 optree==0.20.0 h5py==3.14.0 packaging==26.4
    jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1 attrs==26.1.0
    pytest==9.2.0 pluggy==1.7.0 iniconfig==2.3.1
)
mkdir -p .whl
"$PY" -m pip download --no-deps --only-binary=:all: --python-version "$version" \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
    -d .whl "${WHEELS[@]}"
echo "wheels in .whl/: $(find .whl -name '*.whl' | wc -l) files, $(du -sh .whl | cut -f1)"
