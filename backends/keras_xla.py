"""The ``keras-xla`` backend: Keras 3 on TensorFlow with ``jit_compile=True`` (XLA), the same seed model.

TensorFlow's op determinism turns XLA off silently: Keras' ``model_supports_jit`` returns False while
``enable_op_determinism()`` is on, so a model compiled with ``jit_compile=True`` reports
``model.jit_compile == False`` and runs the graph without XLA. This engine therefore leaves op determinism
off by default (``op_determinism=False``), so that XLA really runs; whether reruns are still bit-identical is
measured (docs/engines.md). The record's ``xla`` is read from the model after the first step.
"""

from __future__ import annotations

from dataclasses import dataclass

from .keras_tf import KerasBackend


@dataclass(frozen=True)
class KerasXlaConfig:
    #: True: TensorFlow's op determinism on, which makes Keras drop XLA (recorded as xla=false).
    op_determinism: bool = False


class KerasXlaBackend(KerasBackend):
    name = "keras-xla"
    description = "Keras 3 on TensorFlow, jit_compile=True (XLA); op determinism off, else Keras drops XLA"
    config_class = KerasXlaConfig

    def _op_determinism(self) -> bool:
        return self.config.op_determinism

    def _jit_compile(self) -> bool | str:
        return True
