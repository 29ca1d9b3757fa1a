"""Gated dilated 1-D convolution (DGCNN, kexue.fm/archives/5409 and 6906).

Dauphin et al.'s gated linear unit (GLU, "Language Modeling with Gated Convolutional
Networks", ICML 2017, arXiv:1612.08083) with WaveNet-style dilation (van den Oord et al.,
arXiv:1609.03499), in the residual form Su uses in DGCNN:

.. math::

    Y = X + \\mathrm{Conv1D}_1(X) \\otimes \\sigma(\\mathrm{Conv1D}_2(X))
      \\;\\Longleftrightarrow\\;
    Y = X \\otimes (1-\\sigma) + \\mathrm{Conv1D}_1'(X) \\otimes \\sigma,

with :math:`\\sigma = \\sigma(\\mathrm{Conv1D}_2(X))`. The two are the same family because
:math:`\\mathrm{Conv1D}_1` is linear: :math:`\\mathrm{Conv1D}_1' = \\mathrm{Conv1D}_1 + I`.
This module computes the second form (the 2019 Keras release's
``x_in * (1 - g) + x * g``), read as a GRU-like switch: keep the input with probability
:math:`1-\\sigma`, take the transform with probability :math:`\\sigma`.

SPACES (kexue.fm/archives/8046) uses a third form, ``rezero=True``: a residual with a layer
norm and a learned scalar initialised to 0 (ReZero, Bachlechner et al., arXiv:2003.04887), so
every block starts as the identity:

    Y = X + α · LN(Conv1D_1(X) ⊗ σ(Conv1D_2(X))),   α initialised to 0.

Pitfalls: the residual form needs equal input and output widths (``residual=False`` gives the
plain GLU, ``Y = Conv1D_1(X) ⊗ σ``); the padded steps are zeroed before the convolution, so
padding never leaks into the real steps, and zeroed again at the output.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["GatedDilatedConv1d"]


class GatedDilatedConv1d(nn.Module):
    """One DGCNN block on ``(batch, time, channels)`` inputs (Keras layout).

    One convolution of width ``2 * out_channels`` gives the value half ``h`` and the gate half
    ``g``; the output is ``x * (1 - σ(g)) + h * σ(g)`` (``residual=True``) or ``h * σ(g)``.

    Args:
        channels: input width.
        kernel_size: odd kernel width ("same" padding).
        dilation: dilation rate; a stack with rates 1, 2, 4 and kernel 3 sees ±7 steps.
        residual: the residual (gated highway) form; needs ``out_channels == channels``.
        out_channels: output width (default ``channels``).
        gate_noise: ε of the 2018 model's multiplicative gate noise, ``g ← g·(1+u)`` with
            ``u ~ U[-ε, ε]``, in training mode only (0.1 in the article).
        gate_dropout: dropout on the gate logits before the sigmoid, training only (0.1 in
            the 2019 release).
        rezero: SPACES' ``ResidualGatedConv1D``: ``x + α·LN(h ⊙ σ(g))`` with a scalar ``α``
            initialised to 0 (needs ``residual=True``).
    """

    def __init__(self, channels: int, kernel_size: int = 3, dilation: int = 1, *,
                 residual: bool = True, out_channels: int | None = None,
                 gate_noise: float = 0.0, gate_dropout: float = 0.0,
                 rezero: bool = False) -> None:
        super().__init__()
        out_channels = channels if out_channels is None else out_channels
        for name, v in (("channels", channels), ("out_channels", out_channels),
                        ("dilation", dilation), ("kernel_size", kernel_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd ('same' padding), got {kernel_size}")
        if residual and out_channels != channels:
            raise ValueError(f"the residual form needs out_channels == channels, got "
                             f"{out_channels} != {channels} (use residual=False)")
        if not 0.0 <= gate_noise < 1.0:
            raise ValueError(f"gate_noise must be in [0, 1), got {gate_noise}")
        if not 0.0 <= gate_dropout < 1.0:
            raise ValueError(f"gate_dropout must be in [0, 1), got {gate_dropout}")
        self.channels, self.out_channels = channels, out_channels
        self.kernel_size, self.dilation, self.residual = kernel_size, dilation, residual
        self.gate_noise = gate_noise
        self.conv = nn.Conv1d(channels, 2 * out_channels, kernel_size, dilation=dilation,
                              padding=dilation * (kernel_size - 1) // 2)
        self.dropout = nn.Dropout(gate_dropout)
        self.rezero = bool(rezero)
        if self.rezero:
            if not residual:
                raise ValueError("rezero=True is a residual form; it needs residual=True")
            self.norm = nn.LayerNorm(out_channels)
            self.alpha = nn.Parameter(torch.zeros(()))

    def gates(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The value half ``h`` and the gate logits ``g`` (before noise and dropout) of
        ``x`` (``(batch, time, channels)``, already masked)."""
        hg = self.conv(x.transpose(1, 2)).transpose(1, 2)
        return hg[..., : self.out_channels], hg[..., self.out_channels:]

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``x``: ``(batch, time, channels)``; ``mask``: ``(batch, time)``, 1 for real steps."""
        if x.dim() != 3 or x.shape[-1] != self.channels:
            raise ValueError(f"expected (batch, time, {self.channels}), got {tuple(x.shape)}")
        m = None
        if mask is not None:
            if mask.shape != x.shape[:2]:
                raise ValueError(f"mask shape {tuple(mask.shape)} != (batch, time) "
                                 f"{tuple(x.shape[:2])}")
            m = mask.to(x.dtype).unsqueeze(-1)
            x = x * m
        h, g = self.gates(x)
        if self.training and self.gate_noise > 0:
            g = g * (1 + torch.empty_like(g).uniform_(-self.gate_noise, self.gate_noise))
        s = torch.sigmoid(self.dropout(g))
        if self.rezero:
            y = x + self.alpha * self.norm(h * s)
        else:
            y = x * (1 - s) + h * s if self.residual else h * s
        return y if m is None else y * m

    def extra_repr(self) -> str:
        return (f"{self.channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, residual={self.residual}, "
                f"gate_noise={self.gate_noise}, rezero={self.rezero}")
