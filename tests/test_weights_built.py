"""Records prove which weights the backend really held: the fingerprint of what it holds after building
(exported in the canonical layout) sits beside the intended one, and a job whose two differ fails."""

from __future__ import annotations

import json

from harness.spec import Spec
from harness.weights import initial_weights, weights_fingerprint
from tests.bench_process import TINY_DATA, TINY_SPEC, bench


def test_a_backend_that_loads_the_weights_wrongly_fails_with_the_reason(tmp_path):
    ran = bench(
        "run", "--backends", "torch-wrongload,torch", "--cells", "simplernn", "--epochs", "1", *TINY_DATA, *TINY_SPEC,
        "--threads", "1", "--results", tmp_path, "--name", "w", "--quiet",
    )  # fmt: skip
    assert ran.returncode == 1, ran.stderr
    manifest = json.loads((tmp_path / "w" / "manifest.json").read_text())
    status = {j["job_id"]: (j["status"], j["error"]) for j in manifest["jobs"]}
    assert status["torch-simplernn-s0"] == ("ok", None)
    state, error = status["torch-wrongload-simplernn-s0"]
    assert state == "failed"
    assert error.startswith("backend 'torch-wrongload' does not hold the initial weights it was given")
    # Only the tensor it loads wrongly is named: the dropped transpose of the (square) recurrent kernel.
    assert "rnn_recurrent max |Δ|" in error and "rnn_kernel" not in error and "embedding" not in error

    jobs = tmp_path / "w" / "jobs"
    bad = json.loads((jobs / "torch-wrongload-simplernn-s0.json").read_text())
    good = json.loads((jobs / "torch-simplernn-s0.json").read_text())
    intended = weights_fingerprint(initial_weights(Spec.from_dict(good["spec"])))
    assert bad["weights_fingerprint"] == good["weights_fingerprint"] == intended
    assert good["weights_fingerprint_built"] == intended
    assert bad["weights_fingerprint_built"] not in (None, intended)
    assert bad["steps"]["time_s"] == []  # it failed before training
