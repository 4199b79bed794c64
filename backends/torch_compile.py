"""The ``torch-compile`` backend: the ``torch`` model under ``torch.compile`` (default inductor backend).

The model is compiled as a typical user does (``torch.compile``), all but its embedding lookup: matched
training needs the gradient of the embedding output per position, which a compiled graph does not hand back
for a tensor it returns beside the logits. The loss, backward (through AOTAutograd's compiled backward where
a graph was captured) and the optimizer step stay as in ``torch``.
Dynamo refuses ``nn.RNN/LSTM/GRU`` unless ``torch._dynamo.config.allow_rnn`` is set: with the default
(``allow_rnn=False``) it gives up on the compiled frame and runs it eagerly, so nothing is compiled
(the record says so: ``graphs`` 0). ``allow_rnn=True`` traces the recurrence into one graph, unrolled over
the timesteps, which inductor compiles for a long time (minutes at length 500, docs/engines.md).

The record's ``compile`` holds the setting, the graphs Dynamo compiled, its graph breaks (including frames
it gave up on), their reasons, and the compile time: ``compile_s`` inside the first training step (reported
apart from step time), ``total_compile_s`` including any recompilation since (e.g. a last, smaller batch).

Importing this module imports no framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.spec import Spec

from .base import StepResult
from .torch_eager import TorchBackend, TorchConfig


@dataclass(frozen=True)
class TorchCompileConfig(TorchConfig):
    #: torch._dynamo.config.allow_rnn: trace nn.RNN/LSTM/GRU into the graph (experimental in Dynamo).
    allow_rnn: bool = False


class TorchCompileBackend(TorchBackend):
    name = "torch-compile"
    description = "PyTorch with torch.compile (inductor) around RNN + dense; allow_rnn=false by default"
    config_class = TorchCompileConfig

    def build(self, spec: Spec, weights, mode: str = "matched", dtype: str = "float32") -> None:
        dynamo = self._dynamo
        dynamo.reset()  # a fresh cache: this model's compilation only
        dynamo.utils.counters.clear()
        dynamo.utils.clear_compilation_metrics()
        dynamo.config.allow_rnn = self.config.allow_rnn
        self._compile_base = self._compile_seconds()
        self._first_compile_s: float | None = None
        super().build(spec, weights, mode, dtype)

    @property
    def _dynamo(self) -> Any:
        import torch._dynamo

        return torch._dynamo

    def _compile(self, net: Any) -> Any:
        # The embedding lookup stays outside the compiled graph: matched training reads the gradient of its
        # output per position (TensorFlow's per-occurrence velocity), and a tensor a compiled graph returns
        # beside the logits gets none (AOTAutograd differentiates the graph as a whole). A gather has nothing
        # to fuse anyway.
        head = self._torch.compile(net.head)

        def forward(x: Any) -> tuple[Any, Any]:
            embedded = net.embedding(x)
            return head(embedded), embedded

        return forward

    def train_step(self, x: np.ndarray, y: np.ndarray) -> StepResult:
        result = super().train_step(x, y)
        if self._first_compile_s is None:  # the compilation the first step paid for
            self._first_compile_s = self._compile_seconds() - self._compile_base
        return result

    def _compile_seconds(self) -> float:
        """Dynamo's and inductor's compile wall time so far in this process (forward and backward)."""
        return float(self._dynamo.utils.calculate_time_spent().get("total_wall_time", 0.0))

    def _breaks(self) -> tuple[int, list[str]]:
        """Graph breaks, counting each frame Dynamo gave up on (it then runs eagerly), and their reasons."""
        utils = self._dynamo.utils
        breaks = dict(utils.counters["graph_break"])
        failed = [m.fail_reason for m in utils.get_compilation_metrics() if m.fail_type]
        reasons = sorted({str(r).strip().splitlines()[0] for r in [*breaks, *failed] if str(r).strip()})
        return sum(breaks.values()) + len(failed), reasons

    def _graphs(self) -> int:
        return int(self._dynamo.utils.counters["stats"]["unique_graphs"])

    def _kernel_path(self) -> str:
        if self._graphs() == 0:
            return self._rnn_path  # nothing compiled: the eager kernels ran
        return "inductor" if self.config.allow_rnn else f"inductor+{self._rnn_path}"

    def _compile_facts(self) -> dict[str, Any]:
        breaks, reasons = self._breaks()
        return {
            "setting": f"torch.compile(rnn + dense), inductor, allow_rnn={self.config.allow_rnn}",
            "graphs": self._graphs(),
            "graph_breaks": breaks,
            "break_reasons": reasons,
            "compile_s": self._first_compile_s,
            "total_compile_s": self._compile_seconds() - self._compile_base,
        }
