# One-command entry points. `make bench` sets everything up and runs the default benchmark and report;
# `make test` sets everything up and runs the test suite (the command CI runs through .ci/run).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# GPU=1: the CUDA builds of the frameworks instead of the CPU ones (docs/gpu.md); GPU_FRAMEWORKS=torch,jax
# (or none, for frameworks that came preinstalled) chooses which. The CPU set-up is unchanged without it.
GPU ?=
GPU_FRAMEWORKS ?= all
STAMP := $(VENV)/.installed-stamp$(if $(filter 1,$(GPU)),-gpu)
# The IMDB archive: $BENCH_DATA if set, else the shared copy beside this checkout when present (else
# bench falls back to its user cache, then a verified download).
BENCH_DATA ?= $(wildcard $(abspath ../shared/data/aclImdb_v1.tar.gz))
export BENCH_DATA

.PHONY: setup lint format test test-fast bench report benchmarks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
ifeq ($(GPU),1)
	$(BIN)/python -m scripts.gpu.setup_env --frameworks $(GPU_FRAMEWORKS)
else
	# torch==2.13.0 (pinned in pyproject) is the CPU build on this machine's disk; any other pulls CUDA.
	$(BIN)/python -m pip install --quiet -e '.[dev]'
endif
	touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: setup
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/pytest -q -m "not slow"

bench: setup
	$(BIN)/bench run --name default-$$(date +%Y%m%d-%H%M%S)
	$(BIN)/bench report

benchmarks: setup
	$(BIN)/pytest tests/benchmarks --benchmark-only

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
