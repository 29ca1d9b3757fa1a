r"""Siamese self-supervised losses: SimSiam's negative cosine and BYOL's normalised MSE.

Article: https://kexue.fm/archives/7980 (从动力学角度看优化算法（六）：为什么SimSiam不退化？).
Papers: Chen & He, "Exploring Simple Siamese Representation Learning", CVPR 2021
(arXiv:2011.10566); Grill et al., "Bootstrap Your Own Latent", NeurIPS 2020 (arXiv:2006.07733).

With predictor outputs :math:`p_j = h(f(T_j x))` and targets :math:`z_j` of two augmented views,

- :func:`simsiam_loss`:
  :math:`\tfrac12 D(p_1, \mathrm{sg}(z_2)) + \tfrac12 D(p_2, \mathrm{sg}(z_1))`,
  :math:`D(p, z) = -\langle p/\|p\|, z/\|z\|\rangle` (range [-1, 1]);
- :func:`byol_loss`: :math:`\|\bar p_1 - \bar z_2\|^2 + \|\bar p_2 - \bar z_1\|^2 =
  (2 - 2\cos) + (2 - 2\cos)` with :math:`\bar u = u/\|u\|` (the targets come from the EMA
  "teacher" network, so they carry no gradient anyway).

``stop_gradient=False`` keeps the gradient through the targets: Su's point is that the
stop-gradient removes the encoder's "fast lane" to the collapsed solution (the term
:math:`\partial l/\partial f\,\partial f/\partial\theta` of the gradient flow).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ._checks import check_float

__all__ = ["byol_loss", "negative_cosine", "simsiam_loss"]


def _pair(p: Tensor, z: Tensor) -> None:
    check_float("p", p)
    check_float("z", z)
    if p.shape != z.shape or p.dim() != 2:
        raise ValueError(f"p and z must be (batch, dim) of one shape, got {tuple(p.shape)} "
                         f"and {tuple(z.shape)}")


def negative_cosine(p: Tensor, z: Tensor, *, stop_gradient: bool = True) -> Tensor:
    r""":math:`D(p, z) = -\mathbb E\langle p/\|p\|, z/\|z\|\rangle` over the batch, with the
    target ``z`` detached when ``stop_gradient``."""
    _pair(p, z)
    if stop_gradient:
        z = z.detach()
    return -F.cosine_similarity(p, z, dim=-1).mean()


def simsiam_loss(p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor, *,
                 stop_gradient: bool = True) -> Tensor:
    """The symmetrised SimSiam loss ``D(p1, z2)/2 + D(p2, z1)/2`` (in [-1, 1])."""
    return 0.5 * (negative_cosine(p1, z2, stop_gradient=stop_gradient)
                  + negative_cosine(p2, z1, stop_gradient=stop_gradient))


def byol_loss(p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor, *,
              stop_gradient: bool = True) -> Tensor:
    r"""The symmetrised BYOL loss :math:`\sum (2 - 2\cos)` (in [0, 8]); ``z`` from the target
    network."""
    return 2.0 * (2.0 + negative_cosine(p1, z2, stop_gradient=stop_gradient)
                  + negative_cosine(p2, z1, stop_gradient=stop_gradient))
