"""SquarePlus: the algebraic smooth ReLU :math:`(x+\\sqrt{x^2+b})/2`.

Article: https://kexue.fm/archives/8833 (SquarePlus: 可能是运算最简单的ReLU光滑近似).
Paper: Barron, "Squareplus: A Softplus-Like Algebraic Rectifier", arXiv:2112.11687.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_float

__all__ = ["squareplus", "SquarePlus", "SOFTPLUS_UPPER_BOUND_B", "SOFTPLUS_MINIMAX_B"]

#: Smallest b with squareplus >= softplus everywhere: 4 ln²2 (Su's first exercise).
SOFTPLUS_UPPER_BOUND_B = 4 * math.log(2) ** 2
#: b minimising max |squareplus - softplus| (numerical; max error ≈ 0.075931).
SOFTPLUS_MINIMAX_B = 1.52382103


def squareplus(x: Tensor, b: float = 4.0) -> Tensor:
    r"""SquarePlus :math:`\mathrm{SP}(x)=\frac{x+\sqrt{x^2+b}}{2}`, b >= 0.

    * b = 0 is exactly ReLU; SP is smooth, monotone and convex for b > 0, and above ReLU.
    * b >= 4 ln²2 ≈ 1.9218 makes SP >= softplus for all x (equality at x = 0 for the bound);
      b ≈ 1.5238 is the minimax fit to softplus; b = 4 (the paper/JAX default) matches
      softplus's curvature at 0 (SP''(0) = 1/4) with SP(0) = 1.
    * Pitfall: for large negative x, ``x + sqrt(x*x + b)`` cancels catastrophically (float32
      returns exactly 0 for x <= -1e4). This uses the conjugate form
      :math:`\frac{b}{2(\sqrt{x^2+b}-x)}` for x < 0 and ``hypot`` to avoid overflow of x², so
      float32 stays accurate down to -1e8 and beyond.
    """
    check_float("x", x)
    if not isinstance(b, (int, float)) or isinstance(b, bool) or not 0 <= b < float("inf"):
        raise ValueError(f"b must be a finite real number >= 0, got {b!r}")
    if b == 0:
        return F.relu(x)
    root_b = torch.tensor(math.sqrt(b), dtype=x.dtype, device=x.device)
    # Each branch sees only its own half-line, so the unused branch never produces inf/nan
    # (which would leak into the gradient through torch.where).
    xp = x.clamp(min=0)
    xn = x.clamp(max=0)
    pos = (xp + torch.hypot(xp, root_b)) / 2
    neg = b / (2 * (torch.hypot(xn, root_b) - xn))
    return torch.where(x >= 0, pos, neg)


class SquarePlus(nn.Module):
    """``nn.Module`` form of :func:`squareplus` (default b = 4)."""

    def __init__(self, b: float = 4.0) -> None:
        super().__init__()
        squareplus(torch.zeros(1), b)
        self.b = float(b)

    def forward(self, x: Tensor) -> Tensor:
        return squareplus(x, self.b)

    def extra_repr(self) -> str:
        return f"b={self.b}"
