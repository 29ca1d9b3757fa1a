"""Position-wise feed-forward blocks, plain and gated (GLU)."""

from __future__ import annotations

import torch
from torch import nn

from kexue.layers.activations import get_activation
from kexue.layers.dense import Dense

__all__ = ["FeedForward"]


class FeedForward(nn.Module):
    """``fc2(act(fc1 x))``, or the gated form ``fc2(act(fc1 x) * gate x)``.

    The gated form is the GLU variant of Shazeer, "GLU Variants Improve Transformer"
    (arXiv 2002.05202), used by T5.1.1/mT5 as "gated-gelu" (``act = gelu_new``, no biases).

    Args:
        hidden_size: model width.
        intermediate_size: inner width.
        act: activation name (see :mod:`kexue.layers.activations`).
        bias: whether the dense layers have biases.
        gated: add the linear ``gate`` branch.
        dropout: dropout on the inner activations (training only).
    """

    def __init__(
        self,
        hidden_size: int,
        intermediate_size: int,
        act: str = "gelu",
        *,
        bias: bool = True,
        gated: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.act = get_activation(act)
        self.fc1 = Dense(hidden_size, intermediate_size, bias=bias)
        self.gate = Dense(hidden_size, intermediate_size, bias=bias) if gated else None
        self.fc2 = Dense(intermediate_size, hidden_size, bias=bias)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc1(x))
        if self.gate is not None:
            h = h * self.gate(x)
        if self.dropout is not None:
            h = self.dropout(h)
        return self.fc2(h)
