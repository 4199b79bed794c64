"""The PyTorch model: ``nn.Embedding -> nn.RNN|LSTM|GRU(batch_first) -> last step -> nn.Linear`` (logits).

Imports torch at module level: only ``backends.torch_eager`` imports this module, after checking that torch
is installed.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.spec import Spec

RNN_CLASSES: dict[str, type[nn.RNNBase]] = {"simplernn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentClassifier(nn.Module):
    """Keras' ``Sequential([Embedding, <cell>, Dense(1, sigmoid)])`` without the sigmoid: returns logits.

    No ``padding_idx`` and no packing: Keras' Embedding has ``mask_zero=False``, so its RNN runs over the
    padding and trains row 0; ``out[:, -1]`` is then the final hidden state (h0 = 0), as Keras returns.
    nn.RNN's tanh and nn.LSTM/GRU's sigmoid/tanh gates are Keras' defaults; nn.GRU is Keras'
    ``reset_after=True`` GRU.
    """

    def __init__(self, spec: Spec):
        super().__init__()
        self.embedding = nn.Embedding(spec.vocab_size, spec.embed_dim)
        self.rnn = RNN_CLASSES[spec.cell](spec.embed_dim, spec.units, batch_first=True)
        self.fc = nn.Linear(spec.units, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (logits of shape (B,), the embedding output (B, T, E)).

        The embedding output is returned so that matched training can read its gradient (the
        per-occurrence embedding gradients Keras' RMSprop squares); returning it costs nothing."""
        embedded = self.embedding(x)
        return self.head(embedded), embedded

    def head(self, embedded: torch.Tensor) -> torch.Tensor:
        """Logits from the embedding output: the recurrence and the dense layer (what torch-compile compiles)."""
        out, _ = self.rnn(embedded)
        return self.fc(out[:, -1]).squeeze(-1)
