"""Additive attention pooling over a padded sequence (DGCNN, kexue.fm/archives/5409).

Bahdanau-style additive scoring used as a pooling layer: each step gets a weight

.. math::

    \\lambda_i = \\mathrm{softmax}_i\\big(\\alpha^\\top \\mathrm{act}(W x_i + b) + \\beta\\big),
    \\qquad o = \\sum_i \\lambda_i x_i ,

with ``act = tanh`` in the article (Su also tried swish, then with the biases). β is a
constant shift and cancels in the softmax, so it is left out. Padded steps get weight exactly
0 (their score is set to −∞ before the softmax); a row with no real step pools to zeros.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kexue.layers.activations import get_activation

__all__ = ["AttentionPooling1d"]


class AttentionPooling1d(nn.Module):
    """``(batch, time, dim)`` → ``(batch, dim)``, weighted by additive attention.

    Args:
        dim: input width.
        hidden: width of ``W`` (default ``dim``).
        activation: ``"tanh"`` (article) or any name :func:`kexue.layers.get_activation` knows
            (``"swish"``).
        bias: use the bias ``b``.
    """

    def __init__(self, dim: int, hidden: int | None = None, *, activation: str = "tanh",
                 bias: bool = True) -> None:
        super().__init__()
        hidden = dim if hidden is None else hidden
        for name, v in (("dim", dim), ("hidden", hidden)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        self.dim = dim
        self.proj = nn.Linear(dim, hidden, bias=bias)
        self.act = get_activation(activation)
        self.alpha = nn.Linear(hidden, 1, bias=False)

    def weights(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """The pooling weights λ, ``(batch, time)``; 0 on padding."""
        if x.dim() != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"expected (batch, time, {self.dim}), got {tuple(x.shape)}")
        scores = self.alpha(self.act(self.proj(x))).squeeze(-1)
        if mask is None:
            return torch.softmax(scores, dim=-1)
        if mask.shape != x.shape[:2]:
            raise ValueError(f"mask shape {tuple(mask.shape)} != (batch, time) "
                             f"{tuple(x.shape[:2])}")
        keep = mask.bool()
        scores = scores.masked_fill(~keep, float("-inf"))
        w = torch.softmax(scores, dim=-1)
        return torch.where(keep, w, torch.zeros_like(w))  # an all-padding row: 0, not NaN

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``x``: ``(batch, time, dim)``; ``mask``: ``(batch, time)``, 1 for real steps."""
        w = self.weights(x, mask)
        if mask is not None:
            x = x.masked_fill(~mask.bool().unsqueeze(-1), 0.0)  # 0·inf would be NaN
        return torch.einsum("bt,btd->bd", w, x)
