"""Time the IMDB pipeline: first preparation of the archive (fresh cache) and a cached load.

    python -m scripts.benchmarks.bench_data [--data PATH] [--repeat N]

Targets (on the 2-core development machine): first preparation < 20 s, cached load < 1 s. Wall and CPU
seconds are both printed, with the load average, because the machine is shared: wall time far above CPU
time means other work held the cores. A benchmark script, not a timed test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from harness.data import load_dataset
from harness.spec import Spec

DEFAULT_ARCHIVE = Path(__file__).resolve().parents[3] / "shared" / "data" / "aclImdb_v1.tar.gz"
TARGETS_S = {"first preparation": 20.0, "cached load": 1.0}


def timed(spec: Spec, data: str, cache: str) -> tuple[float, float, str]:
    wall, cpu = time.perf_counter(), time.process_time()
    ds = load_dataset(spec, data, cache_dir=cache)
    return time.perf_counter() - wall, time.process_time() - cpu, ds.fingerprint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        default=os.environ.get("BENCH_DATA") or str(DEFAULT_ARCHIVE),
        help="aclImdb archive (default: $BENCH_DATA, else %(default)s)",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="cached loads to time; the median is reported (default 5)"
    )
    args = parser.parse_args()
    spec = Spec()
    with tempfile.TemporaryDirectory(prefix="bench-data-") as cache:
        load_before = os.getloadavg()[0]
        first_wall, first_cpu, fingerprint = timed(spec, args.data, cache)
        cached = [timed(spec, args.data, cache) for _ in range(args.repeat)]
    assert all(f == fingerprint for _, _, f in cached), "a cached load returned other arrays"
    figures = {
        "first preparation": (first_wall, first_cpu),
        "cached load": (statistics.median(w for w, _, _ in cached), statistics.median(c for _, c, _ in cached)),
    }
    print(f"data         {args.data}")
    print(f"spec         vocab_size {spec.vocab_size}, maxlen {spec.maxlen}, validation_split {spec.validation_split}")
    print(f"fingerprint  {fingerprint}")
    print(f"machine      {os.cpu_count()} cores, load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    for name, (wall, cpu) in figures.items():
        verdict = "met" if wall < TARGETS_S[name] else "MISSED"
        print(f"{name:<18} {wall:6.2f} s wall  {cpu:6.2f} s CPU   target < {TARGETS_S[name]:g} s: {verdict}")


if __name__ == "__main__":
    main()
