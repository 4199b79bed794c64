"""Time one training step of each backend against the plain framework code a user writes by hand.

    python -m scripts.benchmarks.bench_step [--cells lstm,gru] [--backends keras,torch] [--modes matched,native]
                                            [--rounds 6] [--warmup 5] [--block 5] [--threads N]
                                            [--control] [--save FILE]

``--backends`` takes every engine (keras, keras-xla, keras-jax, keras-torch, torch, torch-compile) and variants
(``torch:flush_denormal=true``, ``torch-compile:allow_rnn=true``): the plain code then gets the same switch.

Target: a backend's step is no slower than the plain code, ratio backend/plain <= 1.05, at the real
spec (batch 128 x 500, vocab 10000). For each backend x mode x cell, the backend and the plain code each
build their model and then train on the same batches, INTERLEAVED: ``--rounds`` rounds (at most 8) of one block
of ``--block`` steps each (ABBA order, so load changes and drift hit both), after ``--warmup`` untimed steps
each; the medians of the timed steps are compared. Each engine runs in a fresh process of its own (no other
framework imported; ``KERAS_BACKEND`` is read once per process).

``--control`` adds an A/A line per case: a second, independent instance of the plain code joins the rotation
(order ABC, then CBA), and its ratio to the first is what the same code measures against itself in the same
minutes. A backend ratio inside the control's per-round range is not a measured cost.

The plain code, written here independently of ``backends/``:
- keras, keras-jax, keras-torch: the seed model, ``Sequential([Embedding, <cell>, Dense(1, sigmoid)])``
  compiled with RMSprop and binary_crossentropy/accuracy, trained with ``train_on_batch`` (both modes: they
  differ only in the start), in a process whose ``KERAS_BACKEND`` is the engine's; keras-xla: the same with
  ``jit_compile=True``.
- torch native: the usual loop with ``torch.optim.RMSprop(lr=1e-3)`` and ``BCEWithLogitsLoss``.
- torch matched: the same math as the backend (frozen bias_hh, Keras' RMSprop with TensorFlow's
  per-occurrence embedding velocity, or the summed gradient's with ``optimizer_semantics=dense``) written
  inline as a plain loop.
- torch-compile: the torch code with all but its embedding lookup under ``torch.compile`` (``allow_rnn`` as the
  variant says).
- ``flush_denormal``: the torch plain code calls ``torch.set_flush_denormal`` itself (off unless the variant
  says ``flush_denormal=true``), so the effect of subnormal arithmetic is measured on plain code too.
Every step returns the batch's loss and accuracy as Python floats, as the backend's does. In matched mode the
plain code starts from the backend's canonical weights (converted outside the timed steps), in native mode
from its framework's seeded default initialisers, as the backend does.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from backends.base import BackendOptions, parse_backend
from backends.torch_layout import to_torch
from harness.atomic import atomic_open
from harness.parity import parity_batches
from harness.spec import CELLS, Spec
from harness.weights import WEIGHT_NAMES, Weights, initial_weights

ROOT = Path(__file__).resolve().parents[2]

TARGET = 1.05
Step = Callable[..., tuple[float, float]]


# -- the plain code ------------------------------------------------------------------------------------
def plain_keras(spec: Spec, weights: Weights | None, jit_compile: bool | str = "auto") -> Step:
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
        jit_compile=jit_compile,
    )

    def step(x, y):
        loss, acc = model.train_on_batch(x, y)
        return float(loss), float(acc)

    return step


def plain_torch(
    spec: Spec,
    weights: Weights | None,
    compile: bool = False,
    allow_rnn: bool = False,
    flush_denormal: bool = False,
    optimizer_semantics: str = "tf-sparse",
) -> Step:
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_flush_denormal(flush_denormal)
    torch.manual_seed(spec.seed)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(spec.vocab_size, spec.embed_dim)
            rnn_class = {"simplernn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[spec.cell]
            self.rnn = rnn_class(spec.embed_dim, spec.units, batch_first=True)
            self.fc = nn.Linear(spec.units, 1)

        def head(self, e):
            out, _ = self.rnn(e)
            return self.fc(out[:, -1]).squeeze(-1)

    net = Net()
    emb, rnn, fc = net.emb, net.rnn, net.fc
    params = list(net.parameters())
    head = net.head
    if compile:  # all but the embedding lookup, whose output's gradient matched training reads
        import torch._dynamo

        torch._dynamo.config.allow_rnn = allow_rnn
        head = torch.compile(net.head)

    def forward(xb):
        e = emb(xb)
        return head(e), e

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
                if p is emb.weight and optimizer_semantics == "tf-sparse":
                    per_token = e.grad.reshape(-1, spec.embed_dim).square().mul_(1 - rho)
                    squared = torch.zeros_like(v).index_add_(0, xb.reshape(-1), per_token)
                else:
                    squared = p.grad.square().mul_(1 - rho)
                v.mul_(rho).add_(squared)
                p.sub_(p.grad.mul(lr).div_(v.add(eps).sqrt_()))
        return loss.item(), accuracy(logits, yb)

    return step


#: Engine -> its plain code; a variant's options that the function takes are passed on (``plain_for``).
PLAIN: dict[str, Callable[..., Step]] = {
    "keras": plain_keras,
    "keras-xla": functools.partial(plain_keras, jit_compile=True),
    "keras-jax": plain_keras,
    "keras-torch": plain_keras,
    "torch": plain_torch,
    "torch-compile": functools.partial(plain_torch, compile=True),
}


def plain_for(label: str, spec: Spec, weights: Weights | None) -> Step:
    """The plain code for a backend label, with the variant's switches that plain code has too."""
    ref = parse_backend(label)
    fn = PLAIN[ref.name]
    accepted = inspect.signature(fn).parameters
    return fn(spec, weights, **{k: v for k, v in ref.options.items() if k in accepted})


# -- timing ----------------------------------------------------------------------------------------------
MAX_ROUNDS = 8


def interleaved(steps: Sequence[Step], batches, warmup: int, rounds: int, block: int) -> list[list[list[float]]]:
    """Per side, per round, the step seconds of each of ``steps``: each round one block of each on the same
    batches, the order reversing between rounds (ABBA; ABC CBA), after ``warmup`` untimed steps each."""
    for i in range(warmup):
        for fn in steps:
            fn(*batches[i % len(batches)])
    times: list[list[list[float]]] = [[] for _ in steps]
    perf = time.perf_counter
    order = list(range(len(steps)))
    for rnd in range(rounds):
        for which in order if rnd % 2 == 0 else order[::-1]:
            fn, block_times = steps[which], []
            for j in range(block):
                x, y = batches[(rnd * block + j) % len(batches)]
                t0 = perf()
                fn(x, y)
                block_times.append(perf() - t0)
            times[which].append(block_times)
    return times


def worker(args) -> None:
    """Measure one backend (this process imports only its framework); print one JSON line per case."""
    ref = parse_backend(args.worker)
    backend = ref.backend_class()(BackendOptions(threads=args.threads, deterministic=True, extra=ref.options))
    for cell in args.cells:
        spec = Spec(cell=cell, batch_size=args.batch_size, maxlen=args.length)
        batches = parity_batches(spec, 4, spec.seed)
        for mode in args.modes:
            weights = initial_weights(spec) if mode == "matched" else None
            backend.build(spec, weights, mode=mode)
            steps = [backend.train_step, plain_for(args.worker, spec, weights)]
            if args.control:
                steps.append(plain_for(args.worker, spec, weights))
            times = interleaved(steps, batches, args.warmup, args.rounds, args.block)
            case = {"backend": args.worker, "mode": mode, "cell": cell, "ours": times[0], "plain": times[1]}
            if args.control:
                case["control"] = times[2]
            print(json.dumps(case), flush=True)


def summarize(case: dict, side: str = "ours") -> tuple[float, float, float, float, float]:
    """(``side`` ms, plain ms, ratio of medians, lowest and highest per-round ratio of block medians);
    ``side`` is "ours" (the backend) or "control" (the plain code's second instance, A/A)."""
    ours = statistics.median(t for block in case[side] for t in block) * 1e3
    plain = statistics.median(t for block in case["plain"] for t in block) * 1e3
    per_round = [statistics.median(a) / statistics.median(b) for a, b in zip(case[side], case["plain"])]
    return ours, plain, ours / plain, min(per_round), max(per_round)


def save(path: Path | None, lines: list[str]) -> None:
    """The cases measured so far, one JSON line each, written whole or not at all."""
    if path is not None:
        with atomic_open(path) as handle:
            handle.writelines(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default=",".join(CELLS))
    parser.add_argument(
        "--backends", default="keras,torch", help="engines and variants, e.g. torch:flush_denormal=true"
    )
    parser.add_argument("--modes", default="matched,native")
    parser.add_argument(
        "--rounds",
        type=int,
        default=6,
        choices=range(1, MAX_ROUNDS + 1),
        metavar=f"1..{MAX_ROUNDS}",
        help="interleaved rounds, one block a side each (default 6)",
    )
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per side first (default 5)")
    parser.add_argument("--block", type=int, default=5, help="steps per block (default 5)")
    parser.add_argument("--batch-size", type=int, default=Spec().batch_size, help="default: the real 128")
    parser.add_argument("--length", type=int, default=Spec().maxlen, help="sequence length; default: the real 500")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="default: all cores")
    parser.add_argument(
        "--control", action="store_true", help="also time a second plain instance against the first (A/A)"
    )
    parser.add_argument("--save", type=Path, help="also write each case's raw step seconds here, a JSON line each")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.cells, args.modes = args.cells.split(","), args.modes.split(",")
    if args.worker:
        worker(args)
        return 0

    passthrough = [f"--{k.replace('_', '-')}={getattr(args, k)}" for k in ("rounds", "warmup", "block", "threads")]
    passthrough += [f"--batch-size={args.batch_size}", f"--length={args.length}"]
    passthrough += [f"--cells={','.join(args.cells)}", f"--modes={','.join(args.modes)}"]
    passthrough += ["--control"] if args.control else []
    print(
        f"bench_step: batch {args.batch_size} x {args.length}, vocab 10000, {args.threads} thread(s), "
        f"{args.rounds} interleaved rounds of {args.block} steps a side (median), {args.warmup} warm-up; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    saved: list[str] = []  # the raw cases, written at the end (atomically) when --save asks for them
    width = max(len("backend"), *(len(b) + len(" A/A") for b in args.backends.split(",")))
    print(
        f"{'backend':<{width}} {'mode':<8} {'cell':<10} {'backend ms':>10} {'plain ms':>10} {'ratio':>7} "
        f"{'per-round range':>17}  target <= {TARGET}"
    )
    worst = 0.0
    for name in args.backends.split(","):
        cmd = [sys.executable, "-m", __spec__.name, f"--worker={name}", *passthrough]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        for line in proc.stdout:
            r = json.loads(line)
            saved.append(line)
            rows = [(r["backend"], "ours")] + ([(f"{r['backend']} A/A", "control")] if "control" in r else [])
            for label, side in rows:
                ours, plain, ratio, low, high = summarize(r, side)
                if side == "ours":
                    worst = max(worst, ratio)
                verdict = "(control)" if side == "control" else "ok" if ratio <= TARGET else "SLOWER"
                print(
                    f"{label:<{width}} {r['mode']:<8} {r['cell']:<10} {ours:10.1f} {plain:10.1f} {ratio:7.3f} "
                    f"{f'{low:.3f}-{high:.3f}':>17}  {verdict}",
                    flush=True,
                )
        if proc.wait() != 0:
            print(f"error: the {name} worker failed (exit {proc.returncode})", file=sys.stderr)
            save(args.save, saved)
            return 2
    save(args.save, saved)
    print(f"worst ratio {worst:.3f}; load average now {os.getloadavg()[0]:.2f}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
