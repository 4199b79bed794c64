"""Keras 3 RMSprop, reproduced on PyTorch tensors for the ``matched`` mode.

``torch.optim.RMSprop`` cannot match Keras for any setting: Keras puts epsilon *inside* the square root
(keras/src/optimizers/rmsprop.py, ``update_step``: ``v <- rho*v + (1-rho)*g**2``,
``theta <- theta - lr*g / sqrt(v + eps)``), torch outside (``sqrt(v) + eps``).

The embedding matrix needs one more detail. On TensorFlow its gradient is a ``tf.IndexedSlices`` holding one
slice per token occurrence, and Keras' RMSprop squares it per slice before the slices are summed into the
dense velocity (keras/src/backend/tensorflow/sparse.py densifies with ``convert_to_tensor``, a segment sum).
So for an embedding row ``e``: ``v_e <- rho*v_e + sum_k (1-rho)*g_k**2`` over its occurrences ``k``, while the
numerator uses the summed gradient ``sum_k g_k``. Rows absent from the batch still decay. ``step`` takes the
per-occurrence gradients (the gradient of the embedding layer's *output*) to reproduce this.

Operations are written in Keras' order (each product rounded separately) so that float32 runs round alike.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

#: (token ids flattened to (N,), gradient of the embedding output reshaped to (N, embed_dim))
Occurrences = tuple[torch.Tensor, torch.Tensor]


class KerasRMSprop(torch.optim.Optimizer):
    """RMSprop exactly as Keras 3 (no momentum, not centered), with TensorFlow's embedding behaviour.

    ``embedding``: the parameter whose velocity is built from per-occurrence gradients when ``step`` gets
    ``occurrences``; without them it is treated like any dense parameter.
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float = 1e-3,
        rho: float = 0.9,
        eps: float = 1e-7,
        *,
        embedding: torch.nn.Parameter | None = None,
    ):
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps})
        self._embedding = embedding

    @torch.no_grad()
    def step(self, closure=None, *, occurrences: Occurrences | None = None):  # noqa: D401 - torch signature
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, rho, eps = group["lr"], group["rho"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["velocity"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                velocity = state["velocity"]
                if occurrences is not None and p is self._embedding:
                    ids, per_occurrence = occurrences
                    squared = torch.zeros_like(velocity).index_add_(0, ids, per_occurrence.square().mul_(1 - rho))
                else:
                    squared = p.grad.square().mul_(1 - rho)
                velocity.mul_(rho).add_(squared)
                p.sub_(p.grad.mul(lr).div_(velocity.add(eps).sqrt_()))
        return loss
