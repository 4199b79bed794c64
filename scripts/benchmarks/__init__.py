"""Developer performance scripts, each run from the repository root as ``python -m scripts.benchmarks.NAME``."""
