"""Adversarial validation: a validation set that looks like the test set.

Article: https://kexue.fm/archives/7805 (如何划分一个跟测试集更接近的验证集?).
Background: importance weighting for covariate shift (Shimodaira, J. Stat. Plan. Inference
2000); the density-ratio trick D/(1-D) from a train-vs-test classifier.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "balanced_batches",
    "discriminator_probabilities",
    "importance_weights",
    "sample_validation",
    "roc_auc",
]


def balanced_batches(
    num_train: int, num_test: int, batch_size: int, *, generator: torch.Generator | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """One epoch of ``(train_idx, test_idx)`` batches with **equal** halves (the smaller side is
    oversampled), so the discriminator's optimum is exactly D = q / (p + q).

    The epoch covers the larger side once; each batch holds ``batch_size // 2`` of each.
    """
    if num_train < 1 or num_test < 1:
        raise ValueError("need at least one train and one test sample")
    if batch_size < 2 or batch_size % 2:
        raise ValueError(f"batch_size must be an even number >= 2, got {batch_size}")
    half = batch_size // 2
    n = max(num_train, num_test)
    steps = -(-n // half)

    def stream(size: int) -> Tensor:
        reps = -(-steps * half // size)
        return torch.cat([torch.randperm(size, generator=generator) for _ in range(reps)])

    a, b = stream(num_train), stream(num_test)
    for s in range(steps):
        yield a[s * half : (s + 1) * half], b[s * half : (s + 1) * half]


def _fit_logistic(
    xp: Tensor, xq: Tensor, epochs: int, lr: float, weight_decay: float, batch_size: int, gen
) -> tuple[Tensor, Tensor]:
    w = torch.zeros(xp.shape[1], dtype=xp.dtype, requires_grad=True)
    b = torch.zeros((), dtype=xp.dtype, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=lr)
    for _ in range(epochs):
        for ip, iq in balanced_batches(len(xp), len(xq), batch_size, generator=gen):
            logit_p = xp[ip] @ w + b
            logit_q = xq[iq] @ w + b
            loss = F.softplus(logit_p).mean() + F.softplus(-logit_q).mean()
            loss = loss + weight_decay * (w * w).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return w.detach(), b.detach()


def discriminator_probabilities(
    train_features: Tensor,
    test_features: Tensor,
    *,
    folds: int = 5,
    epochs: int = 5,
    lr: float = 0.01,
    weight_decay: float = 1e-4,
    batch_size: int = 256,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Out-of-fold train-vs-test discriminator probabilities :math:`D(x)\approx\frac{q}{p+q}`.

    A logistic regression (Su: "just use logistic regression" to avoid over-fitting) is trained
    with loss :math:`-\mathbb E_p\log(1-D)-\mathbb E_q\log D` on balanced batches. Both sets are
    split into ``folds`` parts; fold k's samples are scored by a model trained on the other
    folds, so no sample is scored by a model that saw it (a memorising discriminator would
    give useless weights).

    Args:
        train_features: ``(n_p, F)`` float features of the training pool (label 0).
        test_features: ``(n_q, F)`` features of the unlabelled test inputs (label 1).
    Returns ``(D_train, D_test)``, each out-of-fold.
    """
    for name, x in (("train_features", train_features), ("test_features", test_features)):
        if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() != 2:
            raise ValueError(f"{name} must be a 2-D floating-point tensor")
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} contains non-finite values")
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError("train and test features must have the same number of columns")
    if folds < 2 or folds > min(len(train_features), len(test_features)):
        raise ValueError(f"folds must be in [2, min(n_train, n_test)], got {folds}")
    fp = torch.randperm(len(train_features), generator=generator) % folds
    fq = torch.randperm(len(test_features), generator=generator) % folds
    dp = torch.empty(len(train_features), dtype=train_features.dtype)
    dq = torch.empty(len(test_features), dtype=test_features.dtype)
    for k in range(folds):
        w, b = _fit_logistic(
            train_features[fp != k],
            test_features[fq != k],
            epochs,
            lr,
            weight_decay,
            batch_size,
            generator,
        )
        dp[fp == k] = torch.sigmoid(train_features[fp == k] @ w + b)
        dq[fq == k] = torch.sigmoid(test_features[fq == k] @ w + b)
    return dp, dq


def importance_weights(d: Tensor, clip: float = 1e-3) -> Tensor:
    r"""Density ratio :math:`w(x)=\frac{q(x)}{p(x)}=\frac{D(x)}{1-D(x)}` from discriminator
    probabilities, with D clipped to ``[clip, 1 - clip]`` so the weights stay finite.

    Weighting training/validation samples by w gives :math:`\mathbb E_p[wf]=\mathbb E_q[f]`
    (importance sampling). Su argues for w rather than weighting by D itself, which is biased.
    Assumes balanced training of D (see :func:`balanced_batches`); otherwise w is off by the
    constant :math:`n_q/n_p`, harmless after normalisation.
    """
    if not 0 < clip < 0.5:
        raise ValueError(f"clip must be in (0, 0.5), got {clip}")
    if not bool(torch.isfinite(d).all()) or bool(((d < 0) | (d > 1)).any()):
        raise ValueError("discriminator probabilities must be finite and lie in [0, 1]")
    dc = d.clamp(clip, 1 - clip)
    return dc / (1 - dc)


def sample_validation(
    weights: Tensor, size: int, *, generator: torch.Generator | None = None
) -> Tensor:
    """Indices of a validation set drawn **i.i.d. with replacement** with probability
    proportional to ``weights``; duplicates are kept on purpose (deduplicating changes the
    distribution). Remove the returned indices' samples from training if you train on the rest.
    """
    if weights.dim() != 1 or len(weights) == 0:
        raise ValueError("weights must be a non-empty 1-D tensor")
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise ValueError("weights must be finite and non-negative")
    if float(weights.sum()) <= 0:
        raise ValueError("weights sum to zero")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    return torch.multinomial(weights.double(), size, replacement=True, generator=generator)


def roc_auc(scores_negative: Tensor, scores_positive: Tensor) -> float:
    """ROC AUC (Mann-Whitney, ties count half): how separable train (negative) and test
    (positive) are; 0.5 means no detectable shift."""
    s = torch.cat([scores_negative, scores_positive]).double()
    ranks = torch.empty_like(s)
    order = torch.argsort(s)
    ranks[order] = torch.arange(1, len(s) + 1, dtype=torch.float64)
    # average ranks over ties
    uniq, inv = torch.unique(s, return_inverse=True)
    sums = torch.zeros(len(uniq), dtype=torch.float64).index_add_(0, inv, ranks)
    counts = torch.zeros(len(uniq), dtype=torch.float64).index_add_(0, inv, torch.ones_like(s))
    ranks = (sums / counts)[inv]
    n0, n1 = len(scores_negative), len(scores_positive)
    r1 = ranks[n0:].sum()
    return float((r1 - n1 * (n1 + 1) / 2) / (n0 * n1))
