"""Noise-contrastive estimation and negative sampling.

Article: https://kexue.fm/archives/5617 ("噪声对比估计"杂谈: 曲径通幽之妙).
Papers: Gutmann & Hyvärinen, "Noise-contrastive estimation: A new estimation principle for
unnormalized statistical models", AISTATS 2010; Mikolov et al., "Distributed Representations of
Words and Phrases and their Compositionality", NeurIPS 2013 (negative sampling).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ._checks import check_finite, check_float, check_reduction

__all__ = ["nce_loss", "negative_sampling_loss"]


def _scores(name: str, x: Tensor) -> Tensor:
    check_float(name, x)
    check_finite(name, x)
    return x


def nce_loss(
    data_scores: Tensor,
    noise_scores: Tensor,
    log_normalizer: Tensor | float,
    *,
    data_log_noise: Tensor | None = None,
    noise_log_noise: Tensor | None = None,
) -> Tensor:
    r"""NCE loss for an unnormalised model :math:`p(x)=e^{G(x;\theta)}/Z(\theta)`:

    .. math:: -\mathbb E_{x\sim\tilde p}\log\sigma(G(x)-\gamma-\log U(x))
              -\mathbb E_{x\sim U}\log\big(1-\sigma(G(x)-\gamma-\log U(x))\big),

    a logistic classifier of data against noise samples from a known density U with a
    learnable scalar γ (``log_normalizer``). At the optimum :math:`\tilde p(x)=e^{G(x)-\gamma}`,
    so **γ estimates log Z** and θ the maximum-likelihood target. When the noise log-densities
    are omitted the ``log U`` terms are dropped, as in the article for uniform noise; then
    ``γ - log U`` estimates log Z. The two expectations are sample means over the given tensors
    (any shapes).

    Args:
        data_scores: :math:`G(x)` for data samples.
        noise_scores: :math:`G(x)` for noise samples.
        log_normalizer: γ, a scalar tensor (usually an ``nn.Parameter``) or float.
        data_log_noise / noise_log_noise: :math:`\log U(x)` at the data / noise samples; give
            both or neither.
    """
    d = _scores("data_scores", data_scores)
    n = _scores("noise_scores", noise_scores)
    if (data_log_noise is None) != (noise_log_noise is None):
        raise ValueError("give both data_log_noise and noise_log_noise, or neither")
    if isinstance(log_normalizer, Tensor) and log_normalizer.numel() != 1:
        raise ValueError("log_normalizer must be a scalar")
    if data_log_noise is not None:
        if data_log_noise.shape != d.shape or noise_log_noise.shape != n.shape:
            raise ValueError("log-noise tensors must match the shapes of their score tensors")
        d = d - data_log_noise
        n = n - noise_log_noise
    if d.numel() == 0 or n.numel() == 0:
        raise ValueError("nce_loss needs at least one data and one noise sample")
    return F.softplus(log_normalizer - d).mean() + F.softplus(n - log_normalizer).mean()


def negative_sampling_loss(
    positive_scores: Tensor, negative_scores: Tensor, *, reduction: str = "mean"
) -> Tensor:
    r"""Negative-sampling (SGNS) loss: :math:`-\log\sigma(s^+)-\sum_{j=1}^{k}\log\sigma(-s^-_j)`.

    NCE with γ fixed to 0 and noise = the (smoothed) unigram distribution. For word2vec
    scores :math:`s=\langle u_i,v_j\rangle`, the optimum is
    :math:`\langle u_i,v_j\rangle=\mathrm{PMI}(w_i,w_j)-\log k` (Levy & Goldberg 2014;
    k = 1 in the article), i.e. negative sampling fits mutual information, not the
    conditional probability that a full softmax fits.

    Args:
        positive_scores: ``(...)`` scores of observed pairs.
        negative_scores: ``(..., k)`` scores of k sampled negatives per observed pair.
    """
    check_reduction(reduction)
    pos = _scores("positive_scores", positive_scores)
    neg = _scores("negative_scores", negative_scores)
    if neg.dim() != pos.dim() + 1 or neg.shape[:-1] != pos.shape:
        raise ValueError(
            f"negative_scores must have shape {tuple(pos.shape)} + (k,), got {tuple(neg.shape)}"
        )
    loss = F.softplus(-pos) + F.softplus(neg).sum(-1)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()
