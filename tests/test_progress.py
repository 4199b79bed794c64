"""The progress display names every job in every call, so jobs that run at once (--parallel, Dask) each
keep their own line and their own epoch lines."""

from __future__ import annotations

import io

from rich.console import Console

from harness.progress import LineProgress, LiveProgress

READY = {"event": "ready", "params": 10, "steps_per_epoch": 4, "epochs": 2}
STEP = {"event": "step", "epoch": 1, "step": 2, "loss": 0.5, "acc": 0.75}
EPOCH = {
    "event": "epoch",
    "epoch": 1,
    "train_loss": 0.5,
    "train_acc": 0.7,
    "val_acc": 0.6,
    "train_s": 1.0,
    "eval_s": 0.1,
}


def test_the_live_view_has_a_line_per_running_job():
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    live = LiveProgress(console)
    live.job_started(1, 3, "torch/lstm/seed 0", "host-a")
    live.job_started(2, 3, "keras/lstm/seed 0", "host-b")
    live.event("torch/lstm/seed 0", READY)
    live.event("torch/lstm/seed 0", STEP)
    lines = live._render().plain.splitlines()
    assert lines[0].startswith("job 1/3 torch/lstm/seed 0 on host-a: epoch 1/2 step 2/4 loss 0.5000 acc 0.750")
    assert lines[1].startswith("job 2/3 keras/lstm/seed 0 on host-b: starting")
    live.job_finished("torch/lstm/seed 0", "ok", "fine")
    assert live._render().plain.splitlines() == [lines[1]]
    live.close()


def test_plain_lines_name_the_job_of_each_epoch():
    out = io.StringIO()
    lines = LineProgress(out)
    lines.job_started(1, 2, "torch/lstm/seed 0", "host-a")
    lines.job_started(2, 2, "keras/gru/seed 1")
    lines.event("torch/lstm/seed 0", EPOCH)
    lines.message("waiting for this machine's timing lock")
    lines.job_finished("keras/gru/seed 1", "failed", "boom")
    assert out.getvalue().splitlines() == [
        "job 1/2 torch/lstm/seed 0: started on host-a",
        "job 2/2 keras/gru/seed 1: started",
        "  torch/lstm/seed 0 epoch 1: loss 0.5000 acc 0.7000 val_acc 0.6000 train 1.0s eval 0.1s",
        "waiting for this machine's timing lock",
        "     failed keras/gru/seed 1: boom",
    ]
