"""Output heads: pooler (tanh or linear), next-sentence prediction, masked-LM logits."""

from __future__ import annotations

import torch
from torch import nn

from kexue.layers.activations import get_activation
from kexue.layers.dense import Dense, linear
from kexue.layers.normalization import LayerNorm

__all__ = ["Pooler", "NSPHead", "MLMHead"]



class Pooler(nn.Module):
    """Dense on the first ([CLS]) token, then ``tanh`` (BERT) or nothing (``"linear"``).

    The linear pooler (bert4keras ``with_pool='linear'``) gives the sentence vectors of SimBERT
    and RoFormer-Sim (https://kexue.fm/archives/7427, https://kexue.fm/archives/8454).
    """

    def __init__(self, hidden_size: int, act: str = "tanh") -> None:
        super().__init__()
        if act not in {"tanh", "linear"}:
            raise ValueError(f"pooler activation must be 'tanh' or 'linear', got {act!r}")
        self.dense = Dense(hidden_size, hidden_size)
        self.act = get_activation(act)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(hidden[:, 0]))


class NSPHead(nn.Module):
    """Next-sentence logits ``(batch, 2)`` from the pooled vector; index 0 = "B follows A"."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.dense = Dense(hidden_size, 2)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.dense(pooled)


class MLMHead(nn.Module):
    """``logits = LN(act(W h)) E^T + b`` with ``E`` the (tied) token embedding matrix.

    Args:
        hidden_size: model width.
        embedding_size: width of the tied embedding (the transform maps to it).
        vocab_size: rows of ``b``.
        act: transform activation.
        eps: LayerNorm epsilon.
    """

    def __init__(
        self,
        hidden_size: int,
        embedding_size: int,
        vocab_size: int,
        act: str = "gelu",
        eps: float = 1e-12,
        *,
        cond_size: int | None = None,
        cond_hidden_size: int | None = None,
        cond_act: str = "linear",
    ) -> None:
        super().__init__()
        self.dense = Dense(hidden_size, embedding_size)
        self.act = get_activation(act)
        self.norm = LayerNorm(
            embedding_size,
            eps,
            cond_size=cond_size,
            cond_hidden_size=cond_hidden_size,
            cond_act=cond_act,
        )
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(
        self, hidden: torch.Tensor, embedding: torch.Tensor, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        h = self.act(self.dense(hidden))
        h = self.norm(h, cond)
        return linear(h, embedding, self.bias)
