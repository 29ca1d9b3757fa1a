r"""The VAE's code-space regularisers: the Gaussian KL term and the article's naive variant.

Article: https://kexue.fm/archives/7725 (变分自编码器（六）：从几何视角来理解VAE的尝试, 2020-09-10).
Paper: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (arXiv:1312.6114).

Each input x is encoded to an axis-aligned Gaussian "ellipse" :math:`\mathcal N(\mu(x),
\mathrm{diag}\,\sigma^2(x))` instead of a point; the regulariser pulls the union of the
ellipses onto the unit ball of :math:`\mathcal N(0, I)`:

- :func:`gaussian_kl` — the standard closed form
  :math:`\mathrm{KL}(\mathcal N(\mu,\sigma^2)\,\|\,\mathcal N(0,1)) =
  \sum_i \tfrac12(\mu_i^2 + \sigma_i^2 - \log\sigma_i^2 - 1)`;
- :func:`naive_code_regularizer` — the article's first guess :math:`\|\mu\|^2 + \|\sigma-1\|^2`,
  which "already gives almost a VAE".

Both take ``log_var`` = :math:`\log\sigma^2` (what an encoder should output: any real number is
a valid variance). Pitfall: the KL is summed over code dimensions and averaged over the batch;
its balance against a summed squared reconstruction error fixes the implied decoder variance.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_float, check_reduction

__all__ = ["gaussian_kl", "naive_code_regularizer"]


def _check(mu: Tensor, log_var: Tensor) -> None:
    check_float("mu", mu)
    check_float("log_var", log_var)
    if mu.shape != log_var.shape:
        raise ValueError(f"mu and log_var must have the same shape, got {tuple(mu.shape)} "
                         f"and {tuple(log_var.shape)}")
    if mu.dim() < 1:
        raise ValueError("mu must have a code axis (last dimension)")


def _reduce(per_sample: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return per_sample
    return per_sample.sum() if reduction == "sum" else per_sample.mean()


def gaussian_kl(mu: Tensor, log_var: Tensor, *, reduction: str = "mean") -> Tensor:
    r""":math:`\sum_i \tfrac12(\mu_i^2 + e^{v_i} - v_i - 1)` over the last axis, with
    :math:`v = \log\sigma^2`: the KL divergence of :math:`\mathcal N(\mu, \mathrm{diag}\,e^{v})`
    from :math:`\mathcal N(0, I)`, per sample (``reduction="none"``), or its batch mean/sum."""
    check_reduction(reduction)
    _check(mu, log_var)
    kl = 0.5 * (mu.square() + log_var.exp() - log_var - 1.0).sum(-1)
    return _reduce(kl, reduction)


def naive_code_regularizer(mu: Tensor, log_var: Tensor, *, reduction: str = "mean") -> Tensor:
    r""":math:`\|\mu\|^2 + \|\sigma - 1\|^2` over the last axis (:math:`\sigma = e^{v/2}`), the
    article's naive regulariser: centres towards 0, every axis of the ellipse towards 1."""
    check_reduction(reduction)
    _check(mu, log_var)
    sigma = torch.exp(0.5 * log_var)
    reg = mu.square().sum(-1) + (sigma - 1.0).square().sum(-1)
    return _reduce(reg, reduction)
