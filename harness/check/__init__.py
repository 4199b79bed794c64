"""``bench check``, ``bench baseline save``: regression checks of a candidate run against a baseline.

Modules: ``samples`` (what a comparison needs from each job, read from a run folder), ``baseline`` (the
compact, schema-versioned baseline file), ``compare`` (the pure comparison -> typed ``Report``; the
statistics are in ``harness.stats``), ``render`` (text / markdown / JSON).

The section below is written for the README ("Regression checks in CI").

## Regression checks in CI

    bench baseline save RUN --out results/baselines/ci.json      # once, from a trusted run; commit it
    bench check --baseline FILE_OR_RUN [--candidate RUN] [--max-slowdown 0.10] [--max-acc-drop 0.01]
                [--alpha 0.01] [--normalize auto|always|never] [--format text|md|json] [--results results]
    bench export RUN --format pytest-benchmark [--out FILE]        # for benchmark-history tools

`bench check` compares the candidate (default: the latest run under `--results`) with the baseline (a
baseline file, a run folder or a run name) per backend x cell, and exits **0** (pass), **1** (a
regression: a slowdown, an accuracy drop, or a job that failed where the baseline's succeeded) or **2**
(cannot compare: missing, corrupt or other-version baseline; another spec, data fingerprint or mode), with
one line saying why.

**Speed.** Per-step times are not independent (a busy neighbour slows many consecutive steps), and
there are thousands of them, so a test on raw steps calls a 0.5% difference "significant". `bench check`
cuts each job's warm-up-excluded steps into contiguous blocks that span the series' measured memory (at
most 30, at least 8 a job), and a regression needs **both**
- an effect: the candidate's median step time above the baseline's by more than `--max-slowdown`, and
- significance: a Mann-Whitney U test on the block medians with p < `--alpha`, and a block-bootstrap
  confidence interval (confidence 1 - alpha) of the ratio of medians that excludes 1.
Improvements are reported the same way (ratio below 1 / (1 + max-slowdown)); anything else is "no
significant change", and a run too short for the test to ever reach p < alpha is "inconclusive".

**Machine drift.** Every job times a small fixed NumPy workload at its start and end. When baseline and
candidate ran on different machines (hostname or CPU model) or its median time moved by more than 25%,
step times are divided by each side's median calibration time and the output says so
(`--normalize always|never` overrides). It is not done on one machine because the calibration itself is
noisy (6% standard deviation, 24% range over 20 repeats on the 2-core development VM). A thread-count
change is never normalised away (the calibration is single-threaded).

**Accuracy.** With one seed (matched mode: same initial weights and batches, deterministic), test and best
validation accuracy must not drop by more than `--max-acc-drop`. With two or more seeds a side, the means
are compared with Welch's t-test: a regression needs a mean drop beyond `--max-acc-drop` and p < alpha.

**Defaults and why.**
- `--max-slowdown 0.10`: a slowdown users notice, and above the run-to-run spread of identical code on
  one machine. Statistics within a run cannot see the variance between runs, so this threshold is what
  keeps a check of identical code from failing; set it from A/A measurements on your CI machines (issue
  6's proof script) and raise it where they are noisier.
- `--max-acc-drop 0.01`: one point of accuracy; identical code in matched mode gives identical accuracy,
  and a point leaves room for numerics changes (a framework upgrade) while catching a broken model.
- `--alpha 0.01`: a default check makes 18 comparisons (3 per backend x cell); at 0.01 a chance
  "significant" result is rare, and it still has to clear the effect threshold.
- `--normalize auto`: normalise only when the machine changed (see above).

**Recommended set-up.** Run the baseline and the candidate in the same CI job, on the same machine, one
after the other (e.g. the pull request's base commit, then its head), then `bench check`: the machine and
its load are then as alike as CI allows. A committed baseline (`results/baselines/`) works too, with the
calibration normalisation covering a change of machine. `bench check --format md >> $GITHUB_STEP_SUMMARY`
puts the verdict table in the job summary (run it with `set -o pipefail` if you pipe it, so the exit code
survives).
"""
