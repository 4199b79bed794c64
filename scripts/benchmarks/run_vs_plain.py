"""Does `bench run` add cost to a step? Its recorded step times against plain framework code, same batches.

    python -m scripts.benchmarks.run_vs_plain [--data SRC] [--cells lstm,gru,simplernn] [--backends keras,torch]
                                              [--rounds 3] [--train-limit 6400] [--threads 2] [--out FILE.json]
                                              [--lockstep SECONDS] [--plain-like session,calibration]
    python -m scripts.benchmarks.run_vs_plain --from FILE.json ...  # re-analyse saved samples, run nothing

Target: each backend's median step time inside `bench run` within 5% of the same backend's step time
in plain hand-written code (the plain code of scripts/benchmarks/bench_step.py).

``--rounds`` rounds; in each, every backend x cell case runs two fresh processes, alternating which goes
first from round to round (ABBA), the cases taken in turn so that no case's rounds share one slow stretch:
- A: a real `bench run` of that one job (real spec: batch 128 x maxlen 500, vocab 10000; one epoch on the first
  ``--train-limit`` reviews of the IMDB data, default 6400 -> 40 steps), whose record holds every step's time;
- B: this script as a plain worker: the same prepared data through the same data path (its fingerprint is
  checked against the record's), the same epoch-1 batch order from the seed, the same canonical initial
  weights, threads pinned the same way and the same allocator settings (bench run's worker environment,
  ``harness.environment.worker_env``, then the framework API), and the plain code's step timed around the
  same call boundary.
Both drop the first 5 steps (warm-up: tracing/compilation). Reported per case: the ratio of the pooled
medians (the target's "median step time"), the fastest-block ratio (the statistic bench check uses, robust to
other tenants slowing a whole process on a shared VM; see harness.stats), and the geometric mean of the
per-round median ratios with its 95% Student-t interval (rounds are the independent units: the two processes
of a round ran minutes apart at most, so a slow hour of the VM cancels within a round). The verdict is
"within 5%" when the interval's top is at most 1.05, "costs more than 5%" when its bottom is above 1.05, and
"not resolved" otherwise; then the per-round ratios pooled per backend and over all cases (optimistic: the
cases of one round are not independent). Exit code 1 when some case costs more than 5%, else 0. Separate processes are the
only honest way to include what `bench run` does around a step; their noise is why there are rounds.

``--lockstep SECONDS`` runs the two processes of a case-round together instead, in turn, SECONDS of wall time
each while the other is stopped (scripts/benchmarks/lockstep.py), so that both see the same minutes of the machine;
steps a pause fell into (timed at SECONDS or more) are dropped from both. On this VM, whose speed changes
from one stretch of seconds to minutes to the next, that removes most of the between-process noise of
running them one after the other. Make SECONDS several times the longest step: the README's series used
0.5 s for SimpleRNN (steps of about 0.1 s) and 1.5 s for LSTM and GRU (0.15-0.3 s). The per-round fault and
system-time line printed under --lockstep shows costs outside the computation on each side.

``--plain-like session,calibration`` (a diagnostic) gives the plain worker some of bench run's worker
conditions, to find which one costs when a case is above 1: ``session``, its own session, as the runner
starts workers (``start_new_session``: with the kernel's autogroup scheduling a new session is a new
scheduling group); ``calibration``, the job's start-of-job calibration workload before anything else.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from harness import derive, stats
from harness.atomic import write_json
from harness.cli.options import choose
from harness.environment import worker_env
from harness.errors import BenchError
from harness.jobs import WARMUP_STEPS
from harness.records import JobRecord, read_record
from harness.spec import CELLS, Spec

from .lockstep import paused_steps, run_in_turn, signal_tree

ROOT = Path(__file__).resolve().parents[2]

TARGET = 1.05
DEFAULT_DATA = os.environ.get("BENCH_DATA", str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))


#: How many epochs a plain worker under ``--lockstep`` trains at most while it waits to be told to stop.
MAX_PLAIN_EPOCHS = 50


def plain_worker(args: argparse.Namespace) -> None:
    """One plain-code job: prints {"fingerprint", "time_s": [...], "sizes", "start_unix"} (warm-up steps
    included, flagged by position). With ``--until-stopped`` it trains epoch after epoch (the batch orders
    bench run would use for them) until SIGUSR1, so that its steps cover the whole of the bench run job's
    training under ``--lockstep``."""
    stop = []
    signal.signal(signal.SIGUSR1, lambda signum, frame: stop.append(signum))
    from backends.base import BackendOptions, load_backend
    from harness.batches import batch_slices, epoch_orders
    from harness.data import limit_dataset, load_dataset
    from harness.weights import initial_weights

    from .bench_step import PLAIN

    if args.calibrate:
        from harness import calibration

        calibration.calibrate()
    spec = Spec(cell=args.cells)
    # Constructing the backend pins the framework's threads exactly as a bench run job does; it is not built.
    load_backend(args.backends)(BackendOptions(threads=args.threads, deterministic=True))
    ds = limit_dataset(load_dataset(spec, args.data), args.train_limit, args.test_limit, spec.validation_split)
    step = PLAIN[args.backends](spec, initial_weights(spec))
    epochs = MAX_PLAIN_EPOCHS if args.until_stopped else 1
    times, sizes, starts = [], [], []
    perf, clock = time.perf_counter, time.time
    slices = batch_slices(len(ds.y_train), spec.batch_size)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    for order in epoch_orders(len(ds.y_train), epochs, spec.seed):
        for sl in slices:
            idx = order[sl]
            xb, yb = ds.x_train[idx], ds.y_train[idx]  # gathered before the clock starts, as the worker does
            starts.append(clock())
            t0 = perf()
            step(xb, yb)
            times.append(perf() - t0)
            sizes.append(len(idx))
            if stop:
                break
        if stop:
            break
    end = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "fingerprint": ds.fingerprint,
                "time_s": times,
                "sizes": sizes,
                "start_unix": starts,
                "minor_faults": end.ru_minflt - usage.ru_minflt,
                "cpu_sys_s": end.ru_stime - usage.ru_stime,
            }
        )
    )


def job_options(args: argparse.Namespace, backend: str, cell: str) -> list[str]:
    """The options both sides of a case take: the same job on the same data and threads."""
    return [
        "--backends",
        backend,
        "--cells",
        cell,
        "--data",
        args.data,
        "--train-limit",
        str(args.train_limit),
        "--test-limit",
        str(args.test_limit),
        "--threads",
        str(args.threads),
    ]


def bench_run_cmd(args: argparse.Namespace, backend: str, cell: str, results: Path, name: str) -> list[str]:
    run = ["run", *job_options(args, backend, cell), "--epochs", "1", "--results", str(results), "--name", name]
    return [sys.executable, "-m", "harness.cli", *run, "--quiet"]


def bench_run_record(results: Path, name: str, backend: str, cell: str) -> JobRecord:
    return read_record(results / name / "jobs" / f"{backend}-{cell}-s0.json")


def training_window(record: JobRecord) -> tuple[float, float]:
    """When the job trained: from its first epoch's start to the end of its last epoch's training phase."""
    first, last = record.epochs[0], record.epochs[-1]
    return first.start_time, last.start_time + last.train_s


def plain_cmd(args: argparse.Namespace, backend: str, cell: str) -> list[str]:
    cmd = [sys.executable, "-m", __spec__.name, "--plain-worker", *job_options(args, backend, cell)]
    return cmd + (["--calibrate"] if "calibration" in args.plain_like else [])


def plain_env(args: argparse.Namespace) -> dict[str, str]:
    # The environment bench run gives its workers: thread pools pinned before the framework starts, and the
    # same allocator settings, so that the comparison is of the code around the step, not of the settings.
    return {**os.environ, **worker_env(args.threads)}


def plain_output(stdout: str) -> dict:
    """What a plain worker printed: its last line, JSON."""
    return json.loads(stdout.strip().splitlines()[-1])


def read_plain(out: dict, window: tuple[float, float] | None = None) -> tuple[np.ndarray, str]:
    """The plain worker's timed steps; with ``window``, only those that started inside it."""
    full = max(out["sizes"])
    low, high = window or (-np.inf, np.inf)
    # The worker's rule (harness.derive.timed_steps): warm-up steps and partial batches are not timed samples.
    times = [
        t
        for k, (t, n, start) in enumerate(zip(out["time_s"], out["sizes"], out["start_unix"]))
        if k >= WARMUP_STEPS and n == full and low <= start < high
    ]
    return np.asarray(times), out["fingerprint"]


def read_run(record: JobRecord) -> tuple[np.ndarray, str]:
    """The bench run job's timed steps."""
    return derive.timed_steps(record), record.data.fingerprint


def print_usage(name: str, record: JobRecord, plain: dict) -> None:
    """Page faults and system time per training step on each side: where a cost outside the computation
    would show (memory handed back to the kernel and faulted in again every step)."""
    steps = len(record.steps)
    if record.epochs[0].minor_faults is None:
        return
    run_faults = sum(e.minor_faults for e in record.epochs) / steps
    run_sys = sum(e.cpu_sys_s for e in record.epochs) / steps
    n = len(plain["time_s"])
    print(
        f"  {name}: per training step, bench run {run_faults:.0f} page faults, {run_sys * 1e3:.1f} ms system time; "
        f"plain {plain['minor_faults'] / n:.0f}, {plain['cpu_sys_s'] / n * 1e3:.1f} ms",
        file=sys.stderr,
        flush=True,
    )


SIDES = {"run": "bench run", "plain": "plain worker"}


def launch(
    args: argparse.Namespace, which: str, backend: str, cell: str, tmp: Path, name: str
) -> tuple[list[str], dict]:
    """One side's command line and the process options it starts with (besides its output streams)."""
    if which == "run":
        return bench_run_cmd(args, backend, cell, tmp, name), {"cwd": ROOT, "text": True}
    return plain_cmd(args, backend, cell), {
        "cwd": ROOT,
        "text": True,
        "env": plain_env(args),
        "start_new_session": "session" in args.plain_like,
    }


def _checked(which: str, returncode: int, stderr: str) -> None:
    if returncode != 0:
        sys.exit(f"{SIDES[which]} failed ({returncode}): {stderr.strip()[-600:]}")


def one_after_the_other(
    args: argparse.Namespace, backend: str, cell: str, tmp: Path, name: str, order: tuple[str, str]
) -> dict[str, tuple[np.ndarray, str]]:
    """The two processes of a case-round, each run to the end before the other starts."""
    out = {}
    for which in order:
        cmd, options = launch(args, which, backend, cell, tmp, name)
        proc = subprocess.run(cmd, capture_output=True, **options)
        _checked(which, proc.returncode, proc.stderr)
        out[which] = (
            read_run(bench_run_record(tmp, name, backend, cell))
            if which == "run"
            else read_plain(plain_output(proc.stdout))
        )
    return out


def in_turn(
    args: argparse.Namespace, backend: str, cell: str, tmp: Path, name: str, order: tuple[str, str]
) -> dict[str, tuple[np.ndarray, str]]:
    """The two processes of a case-round started together and run in turn, ``--lockstep`` seconds each
    (scripts/benchmarks/lockstep.py). The plain worker trains until the bench run job has ended, and only its steps
    that started while the job trained are kept, so both sides' steps come from the same stretch of time;
    steps a pause fell into are dropped from both."""
    logs = {which: (tmp / f"{name}-{which}.out", tmp / f"{name}-{which}.err") for which in order}
    procs: dict[str, subprocess.Popen] = {}
    handles = []
    try:
        for which in order:
            stdout, stderr = (open(path, "w", encoding="utf-8") for path in logs[which])
            handles += [stdout, stderr]
            cmd, options = launch(args, which, backend, cell, tmp, name)
            if which == "plain":
                cmd = cmd + ["--until-stopped"]
            procs[which] = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, **options)
            signal_tree(procs[which].pid, signal.SIGSTOP)  # no head start: run_in_turn starts them in turn

        def stop_plain(ended: subprocess.Popen) -> None:
            if ended is procs["run"] and procs["plain"].poll() is None:
                os.kill(procs["plain"].pid, signal.SIGUSR1)  # handled when its turn comes

        run_in_turn([procs[w] for w in order], args.lockstep, on_exit=stop_plain)
    finally:
        for handle in handles:
            handle.close()
    for which, proc in procs.items():
        _checked(which, proc.returncode, logs[which][1].read_text())
    record = bench_run_record(tmp, name, backend, cell)
    plain = plain_output(logs["plain"][0].read_text())
    print_usage(name, record, plain)
    sides = {"run": read_run(record), "plain": read_plain(plain, training_window(record))}
    return {which: (t[~np.asarray(paused_steps(t, args.lockstep), dtype=bool)], fp) for which, (t, fp) in sides.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--cells", default=",".join(CELLS))
    ap.add_argument("--backends", default="keras,torch")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--train-limit", type=int, default=6400, help="reviews (train + validation); 6400 -> 40 steps")
    ap.add_argument("--test-limit", type=int, default=128, help="test reviews evaluated at the end (not timed here)")
    ap.add_argument(
        "--threads", type=int, default=len(os.sched_getaffinity(0)), help="default: all cores, as bench run"
    )
    ap.add_argument("--out", type=Path, default=None, help="also write every process's timed steps here (JSON)")
    ap.add_argument(
        "--from",
        dest="load",
        type=Path,
        nargs="+",
        default=None,
        metavar="FILE",
        help="re-analyse files written by --out (their rounds pooled per case) instead of running anything",
    )
    ap.add_argument(
        "--plain-like",
        type=plain_like,
        default=(),
        metavar="session,calibration",
        help="diagnostic: give the plain worker these conditions of bench run's worker (see above)",
    )
    ap.add_argument(
        "--lockstep",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="run the two processes of a case-round together, in turn, SECONDS each (see above)",
    )
    ap.add_argument("--plain-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--calibrate", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--until-stopped", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.plain_worker:
        plain_worker(args)
        return 0

    if args.load:
        ours, plain = load(args.load)
    else:
        ours, plain = measure(args)
        if args.out:
            write_json(
                args.out,
                {
                    f"{b}-{c}": {
                        "fingerprint": ours[(b, c)][0][1],
                        "bench_run_s": [t.tolist() for t, _ in ours[(b, c)]],
                        "plain_s": [t.tolist() for t, _ in plain[(b, c)]],
                    }
                    for b, c in ours
                },
            )
    print(
        f"{'backend':<7} {'cell':<10} {'run ms':>8} {'plain ms':>9} {'median ratio':>13} {'fastest-block':>14} "
        f"{'per-round gmean [95% CI]':>26}  verdict"
    )
    logs: dict[str, list[float]] = {}
    costly = 0
    for case in ours:
        verdict, rounds = report_case(case, ours[case], plain[case])
        costly += verdict == COSTLY
        logs.setdefault(case[0], []).extend(np.log(rounds))
    for name, values in [*logs.items(), ("all", [v for vs in logs.values() for v in vs])]:
        ci = stats.mean_ci(values)
        print(
            f"pooled {name}: geometric mean of {ci.n} case-round ratios {np.exp(ci.mean):.3f} "
            f"[{np.exp(ci.low):.3f}, {np.exp(ci.high):.3f}]"
        )
    print(f"{costly} case(s) cost more than {TARGET - 1:.0%}; load average now {os.getloadavg()[0]:.2f}")
    return 1 if costly else 0


Samples = dict[tuple[str, str], list[tuple[np.ndarray, str]]]


PLAIN_LIKE = ("session", "calibration")


def positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"--lockstep takes a time slice in seconds greater than 0, not {value!r}")
    return seconds


def plain_like(value: str) -> tuple[str, ...]:
    try:
        return tuple(choose("condition", [value], PLAIN_LIKE, ()))
    except BenchError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def measure(args: argparse.Namespace) -> tuple[Samples, Samples]:
    schedule = f"run in turn, {args.lockstep:g} s slices" if args.lockstep else "one after the other"
    print(
        f"run_vs_plain: {args.rounds} rounds x (bench run, plain) per case ({schedule}), alternating order; {args.threads} "
        f"thread(s); plain worker like bench run's in: {', '.join(args.plain_like) or 'nothing else'}; "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    cases = [(b, c) for b in args.backends.split(",") for c in args.cells.split(",")]
    ours: Samples = {case: [] for case in cases}
    plain: Samples = {case: [] for case in cases}
    with tempfile.TemporaryDirectory(prefix="run-vs-plain-") as tmp:
        # Round-robin over the cases, so no case's rounds all fall in one slow stretch of the machine.
        for r in range(args.rounds):
            for backend, cell in cases:
                order = ("run", "plain") if r % 2 == 0 else ("plain", "run")
                pair = (in_turn if args.lockstep else one_after_the_other)(
                    args, backend, cell, Path(tmp), f"{backend}-{cell}-{r}", order
                )
                ours[(backend, cell)].append(pair["run"])
                plain[(backend, cell)].append(pair["plain"])
            print(f"  round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    return ours, plain


def load(paths: list[Path]) -> tuple[Samples, Samples]:
    """The samples of --out files, each case's rounds from every file in turn (files written before
    fingerprints were saved: data checked at run time)."""
    ours: Samples = {}
    plain: Samples = {}
    for path in paths:
        for key, case in json.loads(path.read_text()).items():
            backend, cell = key.split("-", 1)
            fp = case.get("fingerprint", "checked when measured")
            ours.setdefault((backend, cell), []).extend((np.asarray(t), fp) for t in case["bench_run_s"])
            plain.setdefault((backend, cell), []).extend((np.asarray(t), fp) for t in case["plain_s"])
    return ours, plain


COSTLY = f"costs more than {TARGET - 1:.0%}"


def report_case(case: tuple[str, str], ours: list, plain: list) -> tuple[str, list[float]]:
    """Print one case's line; returns its verdict and per-round ratios."""
    fingerprints = {fp for _, fp in ours + plain}
    if len(fingerprints) != 1:
        sys.exit(f"{case}: bench run and the plain worker saw different data ({sorted(fingerprints)})")
    o, p = [t for t, _ in ours], [t for t, _ in plain]
    med_o, med_p = float(np.median(np.concatenate(o))), float(np.median(np.concatenate(p)))
    fast_o = stats.fastest_block([stats.split_blocks(s) for s in o])
    fast_p = stats.fastest_block([stats.split_blocks(s) for s in p])
    rounds = [float(np.median(a) / np.median(b)) for a, b in zip(o, p)]
    ci = stats.mean_ci(np.log(rounds))
    gmean, low, high = (float(np.exp(v)) for v in (ci.mean, ci.low, ci.high))
    verdict = verdict_of(low, high)
    print(
        f"{case[0]:<7} {case[1]:<10} {med_o * 1e3:8.1f} {med_p * 1e3:9.1f} {med_o / med_p:13.3f} "
        f"{fast_o / fast_p:14.3f} {gmean:11.3f} [{low:.3f}, {high:.3f}]  {verdict}   per round: "
        f"{' '.join(f'{r:.3f}' for r in rounds)}",
        flush=True,
    )
    return verdict, rounds


def verdict_of(low: float, high: float) -> str:
    """What the per-round interval shows about the 5% target (nan bounds, one round: not resolved)."""
    if high <= TARGET:
        return f"within {TARGET - 1:.0%}"
    if low > TARGET:
        return COSTLY
    return "not resolved"


if __name__ == "__main__":
    sys.exit(main())
