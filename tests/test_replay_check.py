"""scripts/replay_check.py: bench check's error rates replayed on a kept proof folder (generated runs here)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.fixtures.factory import make_record, write_run

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "replay_check.py"


def proof_folder(root: Path, trials: int = 2, rounds: int = 2, slowed_ms: float = 30.0) -> Path:
    """What prove_check.py --keep writes: t<N>-r<R>-a/b/f runs; F slows torch only."""
    seed = 0
    for t in range(trials):
        for r in range(rounds):
            for side in "abf":
                name, seed = f"t{t:02d}-r{r}-{side}", seed + 1
                torch_ms = slowed_ms if side == "f" else 20.0
                records = [
                    make_record("keras", run=name, step_ms=20.0, rng_seed=seed),
                    make_record("torch", run=name, step_ms=torch_ms, rng_seed=seed + 1000),
                ]
                write_run(root, name, records)
    return root


def replay(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_counts_false_alarms_and_catches(tmp_path):
    proc = replay(str(proof_folder(tmp_path)), "--splits")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == (
        "as run (2 trials, 2 rounds a side): A/A 0 regressions in 4 step-time rows; torch slowdown "
        "caught in 2 of 2; other backends flagged in those 0 times"
    )
    # 3 splits of 4 runs into 2 + 2 per trial; each half is also checked against the trial's F runs.
    assert lines[1].startswith(
        "splits (2 trials, 2 rounds a side): A/A 0 regressions in 12 step-time rows; torch slowdown caught in 12 of 12"
    )


def test_an_unslowed_f_is_not_caught(tmp_path):
    proc = replay(str(proof_folder(tmp_path, trials=1, slowed_ms=20.0)))
    assert "torch slowdown caught in 0 of 1" in proc.stdout


def test_an_incomplete_trial_is_skipped(tmp_path):
    proof_folder(tmp_path, trials=2, rounds=1)
    for side in "bf":  # trial 1 stopped after its A run, as an interrupted proof leaves it
        shutil.rmtree(tmp_path / f"t01-r0-{side}")
    proc = replay(str(tmp_path))
    assert proc.stdout.startswith("as run (1 trials, 1 rounds a side)"), proc.stderr


def test_no_trial_is_a_one_line_error(tmp_path):
    proc = replay(str(tmp_path))
    assert proc.returncode != 0 and "no complete trial" in proc.stderr and "Traceback" not in proc.stderr
