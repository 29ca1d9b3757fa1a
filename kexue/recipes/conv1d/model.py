"""The residual 1-D CNN of kexue.fm/archives/5505 (LAMOST spectra), for any series length.

- **Block(f)**: three ``Conv1D(2f, kernel 3, same, ReLU)`` layers with dilation rates 1, 2, 4;
  after each, the two channel halves are **summed** (``x[:, :f] + x[:, f:]``); the block's
  input is added back, through a 1×1 convolution when the widths differ.
- **Body**: blocks with filters 16, 16, 32, 32, 64, 64, 128, 128, ``MaxPool1D(2)`` after each
  but the last (7 pools: 2,600 points → 20). A pool is skipped when the series is already
  shorter than 2 steps, so short series (Tecator's 100 points) keep at least one step.
- **Head**: dropout of whole time steps (Keras ``noise_shape=(batch, T, 1)``, rate 0.5) →
  global max pooling → ``Dense(128, ReLU)`` → ``Dense(n_out)`` (logits; softmax in the loss).

Max pooling and ReLU were chosen to catch emission/absorption lines (large local
differences). Variable-length batches: padded steps are masked out of the max pooling
(``mask`` is pooled with the series).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["HalvesSumConv", "ResidualBlock", "Conv1DNet", "DEFAULT_FILTERS"]

DEFAULT_FILTERS = (16, 16, 32, 32, 64, 64, 128, 128)


class HalvesSumConv(nn.Module):
    """``Conv1D(2f, k, dilation, same, ReLU)`` whose two channel halves are summed: ``f`` out."""

    def __init__(self, in_channels: int, filters: int, dilation: int,
                 kernel_size: int = 3) -> None:
        super().__init__()
        self.filters = filters
        self.conv = nn.Conv1d(in_channels, 2 * filters, kernel_size, dilation=dilation,
                              padding=dilation * (kernel_size - 1) // 2)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.conv(x))
        return h[:, : self.filters] + h[:, self.filters:]


class ResidualBlock(nn.Module):
    """Three :class:`HalvesSumConv` (rates 1, 2, 4) plus the (projected) input."""

    def __init__(self, in_channels: int, filters: int, rates: tuple[int, ...] = (1, 2, 4)):
        super().__init__()
        chans = [in_channels] + [filters] * len(rates)
        self.layers = nn.ModuleList(HalvesSumConv(chans[i], filters, r)
                                    for i, r in enumerate(rates))
        self.proj = nn.Conv1d(in_channels, filters, 1) if in_channels != filters else None

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``x``: ``(batch, channels, time)``; ``mask``: ``(batch, 1, time)``, 1 for real
        steps (padding is zeroed after every layer, so it never reaches the real steps)."""
        h = x
        for layer in self.layers:
            h = layer(h)
            if mask is not None:
                h = h * mask
        out = h + (self.proj(x) if self.proj is not None else x)
        return out if mask is None else out * mask


class Conv1DNet(nn.Module):
    """``(batch, time)`` or ``(batch, time, channels)`` → ``(batch, n_out)`` logits."""

    def __init__(self, n_out: int, *, in_channels: int = 1,
                 filters: tuple[int, ...] = DEFAULT_FILTERS, hidden: int = 128,
                 dropout: float = 0.5) -> None:
        super().__init__()
        if n_out < 1 or not filters:
            raise ValueError("n_out >= 1 and at least one block are needed")
        self.in_channels = in_channels
        chans = [in_channels, *filters]
        self.blocks = nn.ModuleList(ResidualBlock(chans[i], f) for i, f in enumerate(filters))
        self.dropout = dropout
        self.dense = nn.Linear(filters[-1], hidden)
        self.out = nn.Linear(hidden, n_out)

    def features(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """The body's output ``(batch, channels, steps)`` and the pooled mask."""
        if x.dim() == 2:
            x = x.unsqueeze(-1)
        if x.dim() != 3 or x.shape[-1] != self.in_channels:
            raise ValueError(f"expected (batch, time) or (batch, time, {self.in_channels}), "
                             f"got {tuple(x.shape)}")
        m = torch.ones(x.shape[:2], dtype=x.dtype) if mask is None else mask.to(x.dtype)
        h = (x * m.unsqueeze(-1)).transpose(1, 2)
        m = m.unsqueeze(1)
        for i, block in enumerate(self.blocks):
            h = block(h, m)
            if i < len(self.blocks) - 1 and h.shape[-1] >= 2:
                h = F.max_pool1d(h, 2)
                m = F.max_pool1d(m, 2)
        return h, m

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        h, m = self.features(x, mask)
        if self.training and self.dropout > 0:  # drop whole time steps
            keep = torch.bernoulli(torch.full((h.shape[0], 1, h.shape[2]), 1 - self.dropout))
            h = h * keep / (1 - self.dropout)
        h = h.masked_fill(m == 0, float("-inf")).amax(-1)
        h = torch.where(torch.isfinite(h), h, torch.zeros_like(h))
        return self.out(F.relu(self.dense(h)))
