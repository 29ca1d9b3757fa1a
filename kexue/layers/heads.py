"""Output heads: pooler (tanh or linear), next-sentence prediction, masked-LM logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kexue.layers.activations import get_activation
from kexue.layers.normalization import LayerNorm

__all__ = ["Pooler", "NSPHead", "MLMHead", "vocab_logits"]

#: Row blocks of the vocabulary matrix in :func:`vocab_logits`'s batched path.
_BLOCKS = 4
#: Input rows up to which the batched path runs (one decoding step of up to 4 sequences).
_MAX_ROWS = 4
#: Vocabulary sizes from which it runs (small heads keep the plain product).
_MIN_VOCAB = 4096


def vocab_logits(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """``x W^T + b`` for a vocabulary matrix ``W (V, H)``, the output layer of a language model.

    Exactly ``F.linear(x, weight, bias)`` up to float rounding. One decoding step multiplies one
    to a few rows by the largest matrix of the model, and on CPU the BLAS matrix-vector kernel
    that ``F.linear`` reaches for a row-major ``W`` is slow: for GPT-2's ``50257 x 768`` at one
    row it took 12 ms where the same product as a batched matrix product over 4 row blocks
    of ``W`` took 5 ms (2 threads; 12.4 vs 6.6 ms on 1 thread; ``benchmarks/decoding.py``, see
    docs/decoding.md, Speed). So on CPU, for at most 4 input rows and ``V >= 4096``, ``W`` is
    viewed (not copied) as ``(4, V/4, H)`` blocks and multiplied with ``torch.bmm``; the
    ``V mod 4`` leftover rows go through a plain product. Anything else runs ``F.linear``.
    """
    hidden = x.shape[-1]
    vocab = weight.shape[0]
    rows = x.numel() // hidden if hidden else 0
    if (
        x.device.type != "cpu"
        or not 0 < rows <= _MAX_ROWS
        or vocab < _MIN_VOCAB
        or weight.dim() != 2
        or weight.shape[1] != hidden
        or not weight.is_contiguous()
    ):
        return F.linear(x, weight, bias)
    x2 = x.reshape(rows, hidden)
    main = vocab - vocab % _BLOCKS
    blocks = weight[:main].view(_BLOCKS, main // _BLOCKS, hidden)
    y = torch.bmm(blocks, x2.t().expand(_BLOCKS, hidden, rows)).reshape(main, rows)
    if main < vocab:
        y = torch.cat([y, torch.mm(weight[main:], x2.t())])
    y = y.t()
    if bias is not None:
        y = y + bias
    return y.reshape(*x.shape[:-1], vocab)


class Pooler(nn.Module):
    """Dense on the first ([CLS]) token, then ``tanh`` (BERT) or nothing (``"linear"``).

    The linear pooler (bert4keras ``with_pool='linear'``) gives the sentence vectors of SimBERT
    and RoFormer-Sim (https://kexue.fm/archives/7427, https://kexue.fm/archives/8454).
    """

    def __init__(self, hidden_size: int, act: str = "tanh") -> None:
        super().__init__()
        if act not in {"tanh", "linear"}:
            raise ValueError(f"pooler activation must be 'tanh' or 'linear', got {act!r}")
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.act = get_activation(act)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(hidden[:, 0]))


class NSPHead(nn.Module):
    """Next-sentence logits ``(batch, 2)`` from the pooled vector; index 0 = "B follows A"."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden_size, 2)

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
        self.dense = nn.Linear(hidden_size, embedding_size)
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
        return vocab_logits(h, embedding, self.bias)
