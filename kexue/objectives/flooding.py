"""Flooding: keep the training loss floating around a flood level ``b``.

Article: https://kexue.fm/archives/7643 (我们真的需要把训练集的损失降低到零吗?).
Paper: Ishida et al., "Do We Need Zero Training Loss After Achieving Zero Training Error?",
ICML 2020, arXiv:2002.08709.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._checks import check_finite, check_float

__all__ = ["flooding", "Flooding"]


def flooding(loss: Tensor, b: float) -> Tensor:
    r"""Flooded loss :math:`\tilde L = |L - b| + b`.

    Above the flood level ``b`` this is ordinary gradient descent on ``L``; below it the sign
    of the gradient flips (gradient *ascent*), so the training loss hovers around ``b``. Su
    shows that one descent step followed by one ascent step equals, to O(ε³), a descent step
    on :math:`\frac{\varepsilon^2}{2}\|\nabla_\theta L\|^2`: flooding is an implicit gradient
    penalty switched on once the loss is small.

    Args:
        loss: the **mini-batch mean** loss (a scalar), as in the paper. Flooding a per-sample
            loss is a different method, so non-scalar input is rejected.
        b: flood level, ``b >= 0``. The paper tunes it on a small grid near zero
            (e.g. 0.01 ... 0.10); Su gives no recommended value.

    Pitfalls: at ``L == b`` the gradient is abs's subgradient (zero in torch). With Adam the
    ascent step has the same size as a descent step. Decide whether auxiliary regularisers go
    inside (flooded) or outside the flooded term; this function floods exactly what it gets.
    """
    check_float("loss", loss)
    if loss.dim() != 0:
        raise ValueError(
            f"flooding expects the scalar mini-batch mean loss, got shape {tuple(loss.shape)}"
        )
    if not isinstance(b, (int, float)) or isinstance(b, bool):
        raise TypeError(f"flood level b must be a real number, got {type(b).__name__}")
    if not (b >= 0.0 and b < float("inf")):
        raise ValueError(f"flood level b must be finite and >= 0, got {b}")
    check_finite("loss", loss)
    return (loss - b).abs() + b


class Flooding(nn.Module):
    """``nn.Module`` form of :func:`flooding`: ``Flooding(b)(loss)``."""

    def __init__(self, b: float) -> None:
        super().__init__()
        flooding(torch.zeros(()), b)  # validate b once, up front
        self.b = float(b)

    def forward(self, loss: Tensor) -> Tensor:
        return flooding(loss, self.b)

    def extra_repr(self) -> str:
        return f"b={self.b}"
