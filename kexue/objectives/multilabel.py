"""Multilabel categorical cross-entropy: softmax-style CE for multi-label classification.

Article: https://kexue.fm/archives/7359 (将"softmax+交叉熵"推广到多标签分类问题); the sparse
label form follows Su's follow-up https://kexue.fm/archives/8888 (多标签"Softmax+交叉熵"的稀疏版本).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._checks import check_finite, check_float, check_reduction

__all__ = [
    "multilabel_categorical_crossentropy",
    "sparse_multilabel_categorical_crossentropy",
    "MultilabelCategoricalCrossentropy",
]


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def multilabel_categorical_crossentropy(
    logits: Tensor, target: Tensor, *, reduction: str = "mean"
) -> Tensor:
    r"""Multilabel categorical cross-entropy with dense (multi-hot) labels:

    .. math:: \log\Big(1+\sum_{i\in\Omega_{neg}}e^{s_i}\Big)
              +\log\Big(1+\sum_{j\in\Omega_{pos}}e^{-s_j}\Big).

    Every positive score is pushed above 0 and every negative below 0, with the pairwise
    softmax coupling of single-label CE; threshold the logits at 0 to predict. Reduces to
    ``log(1 + Σ_{i≠t} e^{s_i - s_t})``-style softmax CE (over classes plus a fixed 0 logit)
    when there is one positive. Works on ``(..., C)`` logits, labels on the last axis.

    Args:
        logits: ``(..., C)`` scores (no sigmoid!).
        target: ``(..., C)`` with values in {0, 1}.
    Returns ``(...)`` losses for ``reduction="none"``.
    """
    check_reduction(reduction)
    check_float("logits", logits)
    if not isinstance(target, Tensor) or target.shape != logits.shape:
        raise ValueError(
            f"target must have the same shape as logits {tuple(logits.shape)}, "
            f"got {tuple(getattr(target, 'shape', ()))}"
        )
    if logits.dim() < 1:
        raise ValueError("logits must have a class axis")
    check_finite("logits", logits)
    y = target.to(logits.dtype)
    if bool(((y != 0) & (y != 1)).any()):
        raise ValueError("multilabel target must be multi-hot (values 0 or 1)")
    # s * (1 - 2y) turns positives into -s; masked entries are sent to -inf.
    signed = logits * (1 - 2 * y)
    neg_inf = torch.finfo(logits.dtype).min
    neg = torch.where(y.bool(), torch.full_like(signed, neg_inf), signed)
    pos = torch.where(y.bool(), signed, torch.full_like(signed, neg_inf))
    zeros = torch.zeros_like(logits[..., :1])
    loss = torch.logsumexp(torch.cat([zeros, neg], -1), -1) + torch.logsumexp(
        torch.cat([zeros, pos], -1), -1
    )
    return _reduce(loss, reduction)


def sparse_multilabel_categorical_crossentropy(
    logits: Tensor, target: Tensor, *, pad_index: int = -1, reduction: str = "mean"
) -> Tensor:
    r"""The same loss with **sparse** labels: ``target[..., k]`` lists the positive class
    indices, padded with ``pad_index``. Useful when C is huge (e.g. global-pointer spans).

    Su computes the negative term as :math:`A+\log(1-e^{B-A})` with
    :math:`A=\log(1+\sum_{all}e^{s})`, :math:`B=\log\sum_{pos}e^{s}`; that subtraction cancels
    catastrophically when a positive logit dominates (loss off by ~1e4 at s = 1e4), so here the
    indices are scattered into a mask of the logits' size (same memory as the logits) and the
    dense form is used. A class listed twice is counted once.

    Args:
        logits: ``(..., C)``.
        target: ``(..., K)`` integer indices in ``[0, C)`` or ``pad_index``.
    """
    check_reduction(reduction)
    check_float("logits", logits)
    if not isinstance(target, Tensor) or target.is_floating_point():
        raise TypeError("target must be an integer tensor of positive class indices")
    if target.dim() != logits.dim() or target.shape[:-1] != logits.shape[:-1]:
        raise ValueError(
            f"target shape {tuple(target.shape)} must be logits shape {tuple(logits.shape)} "
            "with the last axis replaced by K positive indices"
        )
    check_finite("logits", logits)
    c = logits.shape[-1]
    pad = target == pad_index
    real = target[~pad]
    if real.numel() and (int(real.min()) < 0 or int(real.max()) >= c):
        raise ValueError(f"target indices must lie in [0, {c - 1}] or equal pad_index={pad_index}")
    # Scatter into a multi-hot mask (one pass, duplicates collapse) and reuse the dense form,
    # which stays exact where the subtractive trick log(1 - e^{B-A}) cancels catastrophically.
    safe = torch.where(pad, torch.full_like(target, c), target)
    hot = torch.zeros(logits.shape[:-1] + (c + 1,), dtype=logits.dtype, device=logits.device)
    hot = hot.scatter(-1, safe, 1.0)[..., :c]
    return multilabel_categorical_crossentropy(logits, hot, reduction=reduction)


class MultilabelCategoricalCrossentropy(nn.Module):
    """``nn.Module`` form; ``sparse=True`` selects the sparse label form."""

    def __init__(self, *, sparse: bool = False, pad_index: int = -1, reduction: str = "mean"):
        super().__init__()
        check_reduction(reduction)
        self.sparse, self.pad_index, self.reduction = sparse, pad_index, reduction

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        if self.sparse:
            return sparse_multilabel_categorical_crossentropy(
                logits, target, pad_index=self.pad_index, reduction=self.reduction
            )
        return multilabel_categorical_crossentropy(logits, target, reduction=self.reduction)
