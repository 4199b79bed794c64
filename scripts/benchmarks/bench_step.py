"""Time one training step of each backend against the plain framework code a user writes by hand.

    python -m scripts.benchmarks.bench_step [--cells lstm,gru] [--backends keras,torch] [--modes matched,native]
                                            [--steps 30] [--warmup 5] [--block 5] [--threads N]

Target: a backend's step is no slower than the plain code, ratio backend/plain <= 1.05, at the real
spec (batch 128 x 500, vocab 10000). For each backend x mode x cell, the backend and the plain code each
build their model and then train on the same batches, INTERLEAVED in blocks of ``--block`` steps (ABBA order,
so load changes and drift hit both), after ``--warmup`` untimed steps each; the medians of ``--steps`` timed
steps are compared. Each framework runs in a fresh process of its own (the other framework not imported).

The plain code, written here independently of ``backends/``:
- keras: the seed model, ``Sequential([Embedding, <cell>, Dense(1, sigmoid)])`` compiled with RMSprop and
  binary_crossentropy/accuracy, trained with ``train_on_batch`` (both modes: they differ only in the start).
- torch native: the usual loop with ``torch.optim.RMSprop(lr=1e-3)`` and ``BCEWithLogitsLoss``.
- torch matched: the same math as the backend (frozen bias_hh, Keras' RMSprop with TensorFlow's
  per-occurrence embedding velocity) written inline as a plain loop.
Every step returns the batch's loss and accuracy as Python floats, as the backend's does. In matched mode the
plain code starts from the backend's canonical weights (converted outside the timed steps), in native mode
from its framework's seeded default initialisers, as the backend does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from backends.base import BackendOptions, load_backend
from backends.torch_layout import to_torch
from harness.parity import parity_batches
from harness.spec import CELLS, Spec
from harness.weights import WEIGHT_NAMES, Weights, initial_weights

ROOT = Path(__file__).resolve().parents[2]

TARGET = 1.05
Step = Callable[..., tuple[float, float]]


# -- the plain code ------------------------------------------------------------------------------------
def plain_keras(spec: Spec, weights: Weights | None) -> Step:
    import keras

    keras.utils.set_random_seed(spec.seed)
    rnn = {"simplernn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[spec.cell]
    model = keras.Sequential(
        [
            keras.layers.Embedding(spec.vocab_size, spec.embed_dim),
            rnn(spec.units),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    if weights is not None:  # the same start as the backend: weight values can change the work (denormals)
        model.build((None, spec.maxlen))
        model.set_weights([weights[name] for name in WEIGHT_NAMES])
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=spec.learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )

    def step(x, y):
        loss, acc = model.train_on_batch(x, y)
        return float(loss), float(acc)

    return step


def plain_torch(spec: Spec, weights: Weights | None) -> Step:
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(spec.seed)
    emb = nn.Embedding(spec.vocab_size, spec.embed_dim)
    rnn = {"simplernn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[spec.cell](spec.embed_dim, spec.units, batch_first=True)
    fc = nn.Linear(spec.units, 1)
    params = [*emb.parameters(), *rnn.parameters(), *fc.parameters()]

    def forward(xb):
        e = emb(xb)
        out, _ = rnn(e)
        return fc(out[:, -1]).squeeze(-1), e

    def accuracy(logits, yb):
        return ((torch.sigmoid(logits) > 0.5) == (yb > 0.5)).float().mean().item()

    if weights is None:  # native
        opt = torch.optim.RMSprop(params, lr=spec.learning_rate)

        def step(x, y):
            xb, yb = torch.from_numpy(x), torch.from_numpy(y)
            opt.zero_grad()
            logits, _ = forward(xb)
            loss = F.binary_cross_entropy_with_logits(logits, yb)
            loss.backward()
            opt.step()
            return loss.item(), accuracy(logits, yb)

        return step

    # The same start as the backend (weight values can change the work: denormals); loading is not timed.
    modules = {"embedding": emb, "rnn": rnn, "fc": fc}
    with torch.no_grad():
        for key, array in to_torch(spec, weights).items():
            module, name = key.split(".")
            getattr(modules[module], name).copy_(torch.from_numpy(array))
    if spec.cell != "gru":
        rnn.bias_hh_l0.requires_grad_(False)
    trainable = [p for p in params if p.requires_grad]
    velocities = [torch.zeros_like(p) for p in trainable]
    lr, rho, eps = spec.learning_rate, spec.rho, spec.epsilon

    def step(x, y):
        xb, yb = torch.from_numpy(x), torch.from_numpy(y)
        logits, e = forward(xb)
        e.retain_grad()
        loss = F.binary_cross_entropy_with_logits(logits, yb)
        for p in trainable:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p, v in zip(trainable, velocities):
                if p is emb.weight:
                    per_token = e.grad.reshape(-1, spec.embed_dim).square().mul_(1 - rho)
                    squared = torch.zeros_like(v).index_add_(0, xb.reshape(-1), per_token)
                else:
                    squared = p.grad.square().mul_(1 - rho)
                v.mul_(rho).add_(squared)
                p.sub_(p.grad.mul(lr).div_(v.add(eps).sqrt_()))
        return loss.item(), accuracy(logits, yb)

    return step


PLAIN = {"keras": plain_keras, "torch": plain_torch}


# -- timing ----------------------------------------------------------------------------------------------
def interleaved(a: Step, b: Step, batches, warmup: int, steps: int, block: int) -> tuple[list[float], list[float]]:
    """Per-step seconds of ``a`` and ``b``, run in alternating blocks (ABBA) on the same batches."""
    for i in range(warmup):
        for fn in (a, b):
            fn(*batches[i % len(batches)])
    times: dict[int, list[float]] = {0: [], 1: []}
    done, rnd = 0, 0
    perf = time.perf_counter
    while done < steps:
        n = min(block, steps - done)
        for which in (0, 1) if rnd % 2 == 0 else (1, 0):
            fn = (a, b)[which]
            for j in range(n):
                x, y = batches[(done + j) % len(batches)]
                t0 = perf()
                fn(x, y)
                times[which].append(perf() - t0)
        done += n
        rnd += 1
    return times[0], times[1]


def worker(args) -> None:
    """Measure one backend (this process imports only its framework); print one JSON line per case."""
    backend = load_backend(args.worker)(BackendOptions(threads=args.threads, deterministic=True))
    for cell in args.cells:
        spec = Spec(cell=cell)
        batches = parity_batches(spec, 4, spec.seed)
        for mode in args.modes:
            weights = initial_weights(spec) if mode == "matched" else None
            backend.build(spec, weights, mode=mode)
            ours, plain = interleaved(
                backend.train_step, PLAIN[args.worker](spec, weights), batches, args.warmup, args.steps, args.block
            )
            print(
                json.dumps({"backend": args.worker, "mode": mode, "cell": cell, "ours": ours, "plain": plain}),
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default=",".join(CELLS))
    parser.add_argument("--backends", default="keras,torch")
    parser.add_argument("--modes", default="matched,native")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per side (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per side first (default 5)")
    parser.add_argument("--block", type=int, default=5, help="steps per interleaved block (default 5)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="default: all cores")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.cells, args.modes = args.cells.split(","), args.modes.split(",")
    if args.worker:
        worker(args)
        return 0

    passthrough = [f"--{k}={getattr(args, k)}" for k in ("steps", "warmup", "block", "threads")]
    passthrough += [f"--cells={','.join(args.cells)}", f"--modes={','.join(args.modes)}"]
    print(
        f"bench_step: batch 128 x 500, vocab 10000, {args.threads} thread(s), {args.steps} timed steps per side "
        f"(median), {args.warmup} warm-up, blocks of {args.block}; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'backend':<8} {'mode':<8} {'cell':<10} {'backend ms':>10} {'plain ms':>10} {'ratio':>7}  target <= {TARGET}"
    )
    worst = 0.0
    for name in args.backends.split(","):
        cmd = [sys.executable, "-m", __spec__.name, f"--worker={name}", *passthrough]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        for line in proc.stdout:
            r = json.loads(line)
            ours, plain = statistics.median(r["ours"]) * 1e3, statistics.median(r["plain"]) * 1e3
            ratio = ours / plain
            worst = max(worst, ratio)
            verdict = "ok" if ratio <= TARGET else "SLOWER"
            print(
                f"{r['backend']:<8} {r['mode']:<8} {r['cell']:<10} {ours:10.1f} {plain:10.1f} {ratio:7.3f}  {verdict}",
                flush=True,
            )
        if proc.wait() != 0:
            print(f"error: the {name} worker failed (exit {proc.returncode})", file=sys.stderr)
            return 2
    print(f"worst ratio {worst:.3f}; load average now {os.getloadavg()[0]:.2f}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
