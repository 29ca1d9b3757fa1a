"""Gaussian input noise and what it integrates to: a Jacobian (gradient) penalty.

Article: https://kexue.fm/archives/7466 (泛化性乱弹: 从随机噪声、梯度惩罚到虚拟对抗训练).
Related: Bishop, "Training with Noise is Equivalent to Tikhonov Regularization", 1995.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from .embedding import embedding_offset, find_embedding

__all__ = ["GaussianNoise", "embedding_noise", "jacobian_penalty"]


class GaussianNoise(nn.Module):
    r"""Adds :math:`\varepsilon\sim\mathcal N(0,\sigma^2 I)` to its input in training mode;
    the identity in eval mode.

    To second order, :math:`\mathbb E_\varepsilon l(f(x+\varepsilon),f(x))\approx
    \tfrac12\sigma^2\sum_i\lambda_i\|\nabla_x f_i\|^2` (7466): noise training is a gradient
    penalty in disguise (see :func:`jacobian_penalty`).
    """

    def __init__(self, sigma: float) -> None:
        super().__init__()
        if not 0 <= sigma < float("inf"):
            raise ValueError(f"sigma must be finite and >= 0, got {sigma}")
        self.sigma = float(sigma)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.sigma == 0:
            return x
        return x + self.sigma * torch.randn_like(x)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


@contextmanager
def embedding_noise(
    model: nn.Module,
    sigma: float,
    *,
    name: str | None = None,
    generator: torch.Generator | None = None,
) -> Iterator[None]:
    """Inside the block, the model's embedding output gets fresh N(0, σ²) noise per forward.

    Works with any model that has an ``nn.Embedding`` (found as in :func:`find_embedding`);
    the weights are not modified.
    """
    if not 0 <= sigma < float("inf"):
        raise ValueError(f"sigma must be finite and >= 0, got {sigma}")
    emb = find_embedding(model, name)

    def offset(ids: Tensor, out: Tensor) -> Tensor:
        z = torch.randn(out.shape, generator=generator, dtype=out.dtype)
        return sigma * z.to(out.device)

    with embedding_offset(emb, offset):
        yield


def jacobian_penalty(
    outputs: Tensor | Callable[[], Tensor],
    inputs: Tensor,
    num_samples: int = 1,
    *,
    generator: torch.Generator | None = None,
    create_graph: bool = True,
) -> Tensor:
    r"""Unbiased estimate of :math:`\sum_i\|\nabla_x f_i(x)\|^2` (summed over the batch) by the
    Rademacher trick of 7466: :math:`\mathbb E_\eta\|\nabla_x\sum_i\eta_if_i\|^2` with
    :math:`\eta_i=\pm1`. One backward pass per sample instead of one per output unit.

    Args:
        outputs: the model outputs ``f(x)`` (any shape) computed from ``inputs``.
        inputs: tensor with ``requires_grad`` (e.g. an embedding output).
        num_samples: number of η draws averaged.
    """
    if callable(outputs) and not isinstance(outputs, Tensor):
        outputs = outputs()
    if not inputs.requires_grad:
        raise ValueError("inputs must require grad")
    if num_samples < 1:
        raise ValueError("num_samples must be >= 1")
    total = outputs.new_zeros(())
    for _ in range(num_samples):
        eta = torch.randint(0, 2, outputs.shape, generator=generator).to(outputs) * 2 - 1
        (g,) = torch.autograd.grad(
            (eta * outputs).sum(), inputs, create_graph=create_graph, retain_graph=True
        )
        total = total + (g * g).sum()
    return total / num_samples
