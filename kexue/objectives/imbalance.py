"""Class imbalance: logit adjustment, class weights, focal loss, smooth F1 and smooth accuracy.

Articles: https://kexue.fm/archives/7615 (通过互信息思想来缓解类别不平衡问题) and
https://kexue.fm/archives/7708 (再谈类别不平衡问题: 调节权重与魔改Loss的对比联系).
Papers: Menon et al., "Long-tail learning via logit adjustment", ICLR 2021, arXiv:2007.07314;
Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017, arXiv:1708.02002.

All losses take **logits** (never probabilities) with the class dimension at 1, like
``torch.nn.functional.cross_entropy``, and accept ``ignore_index`` / ``reduction`` with the same
meaning ("mean" averages over the non-ignored positions).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import (
    check_finite,
    check_float,
    check_prior,
    check_reduction,
    check_targets,
    flatten_logits,
    gather_target,
    prior_from_counts,
    reduce_loss,
)

__all__ = [
    "logit_adjusted_cross_entropy",
    "logit_adjustment",
    "LogitAdjustedCrossEntropy",
    "class_weights",
    "class_weighted_cross_entropy",
    "focal_loss",
    "FocalLoss",
    "softmax_focal_loss",
    "smooth_f1",
    "smooth_f1_cross_entropy",
    "smooth_macro_f1",
    "SmoothF1CrossEntropy",
    "smoothed_accuracy",
    "prior_from_counts",
]


def _log_prior(prior: Tensor, logits: Tensor, tau: float) -> Tensor:
    if not isinstance(tau, (int, float)) or isinstance(tau, bool) or not abs(tau) < float("inf"):
        raise ValueError(f"tau must be a finite real number, got {tau!r}")
    p = check_prior(prior, logits.shape[1]).to(device=logits.device, dtype=torch.float64)
    shift = (tau * p.log()).to(logits.dtype)
    return shift.view((1, -1) + (1,) * (logits.dim() - 2))


def logit_adjusted_cross_entropy(
    logits: Tensor,
    target: Tensor,
    prior: Tensor,
    tau: float = 1.0,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    r"""Logit-adjusted cross-entropy (the mutual-information loss of 7615):

    .. math:: -\log\frac{e^{f_y+\tau\log p(y)}}{\sum_i e^{f_i+\tau\log p(i)}}
              = \log\Big[1+\sum_{i\ne y}\Big(\frac{p(i)}{p(y)}\Big)^{\tau}e^{f_i-f_y}\Big].

    The logits then model the pointwise mutual information :math:`\log p(y|x)/p(y)`; predict
    with the **raw** logits for balanced (per-class) accuracy, or with
    ``logit_adjustment(logits, prior, -tau)`` (i.e. ``f + τ log p``) for overall accuracy.

    Args:
        logits: ``(N, C)`` or ``(N, C, d1, ...)``.
        target: integer class indices ``(N,)`` or ``(N, d1, ...)``.
        prior: class frequencies over the whole training set, shape ``(C,)``, strictly positive
            and summing to 1 (use :func:`prior_from_counts`).
        tau: temperature; τ = 1 is usually near-optimal, τ = 0 gives plain CE.

    A uniform prior (or τ = 0) gives exactly plain cross-entropy (softmax shift invariance).
    """
    check_reduction(reduction)
    flatten_logits(logits, target)  # shape / dtype / finiteness checks
    adjusted = logits + _log_prior(prior, logits, tau)
    check_targets(target.reshape(-1), logits.shape[1], ignore_index)
    return F.cross_entropy(adjusted, target, ignore_index=ignore_index, reduction=reduction)


def logit_adjustment(logits: Tensor, prior: Tensor, tau: float = 1.0) -> Tensor:
    r"""Post-hoc logit adjustment for prediction: :math:`f_y(x) - \tau\log p(y)`.

    Train with plain cross-entropy, then take ``argmax`` of the adjusted logits to maximise
    *balanced* accuracy (Menon et al.'s post-hoc rule). With a negative ``tau`` it adds the
    prior instead, which turns the raw logits of a logit-adjusted model back into
    conditional-probability logits (best *overall* accuracy). Class dimension is 1.
    """
    check_float("logits", logits)
    if logits.dim() < 2:
        raise ValueError(f"logits must have shape (N, C, ...), got {tuple(logits.shape)}")
    return logits - _log_prior(prior, logits, tau)


class LogitAdjustedCrossEntropy(nn.Module):
    """``nn.Module`` form of :func:`logit_adjusted_cross_entropy`; the prior is a buffer."""

    def __init__(
        self,
        prior: Tensor,
        tau: float = 1.0,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        self.register_buffer("prior", check_prior(prior).clone())
        self.tau = float(tau)
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return logit_adjusted_cross_entropy(
            logits,
            target,
            self.prior,
            self.tau,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )

    def adjust(self, logits: Tensor) -> Tensor:
        """Logits for best *overall* accuracy: ``f + τ log p``."""
        return logit_adjustment(logits, self.prior, -self.tau)


def class_weights(prior: Tensor, power: float = 1.0) -> Tensor:
    r"""Inverse-frequency class weights :math:`w_y \propto p(y)^{-\text{power}}`,

    normalised so that :math:`\sum_y p(y) w_y = 1` (the average weight per sample is 1, so the
    loss scale matches unweighted CE). ``power=1`` is full inverse frequency, ``0.5`` the
    common square-root compromise. Weighting happens *outside* the log (classical
    reweighting), unlike logit adjustment, which reweights inside it (7708).
    """
    p0 = check_prior(prior)
    p = p0.to(torch.float64)
    w = p.pow(-float(power))
    return (w / (p * w).sum()).to(p0.dtype)


def class_weighted_cross_entropy(
    logits: Tensor,
    target: Tensor,
    prior: Tensor,
    power: float = 1.0,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Cross-entropy weighted by :func:`class_weights` (``mean`` divides by the total weight,
    exactly as ``F.cross_entropy(weight=...)``)."""
    check_reduction(reduction)
    flatten_logits(logits, target)
    w = class_weights(prior, power).to(device=logits.device, dtype=logits.dtype)
    if w.numel() != logits.shape[1]:
        raise ValueError(
            f"prior has {w.numel()} entries but the logits have {logits.shape[1]} classes"
        )
    check_targets(target.reshape(-1), logits.shape[1], ignore_index)
    return F.cross_entropy(logits, target, weight=w, ignore_index=ignore_index, reduction=reduction)


def focal_loss(
    logits: Tensor,
    target: Tensor,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
    *,
    reduction: str = "mean",
) -> Tensor:
    r"""Binary (sigmoid) focal loss :math:`-\alpha_t(1-p_t)^\gamma\log p_t`.

    :math:`p = \sigma(\text{logits})`, :math:`p_t = p` for positives and :math:`1-p` for
    negatives, :math:`\alpha_t = \alpha` for positives and :math:`1-\alpha` for negatives
    (``alpha=None`` disables the class weighting). Same semantics as
    ``torchvision.ops.sigmoid_focal_loss`` (α = 0.25, γ = 2 defaults). With γ = 0 it is the
    α-weighted binary cross-entropy. 7708 reads focal loss as one of the "modified losses"
    that, like smooth F1, down-weight easy samples.

    Args:
        logits: any shape.
        target: same shape, values in [0, 1] (soft labels allowed).
    """
    check_reduction(reduction)
    check_float("logits", logits)
    if not isinstance(target, Tensor):
        raise TypeError("target must be a torch.Tensor")
    if target.shape != logits.shape:
        raise ValueError(
            f"target shape {tuple(target.shape)} != logits shape {tuple(logits.shape)}"
        )
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    if alpha is not None and not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1] or None, got {alpha}")
    check_finite("logits", logits)
    t = target.to(logits.dtype)
    check_finite("target", t)
    if bool(((t < 0) | (t > 1)).any()):
        raise ValueError("focal_loss target values must lie in [0, 1]")
    ce = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - p_t).pow(gamma) if gamma != 0 else ce
    if alpha is not None:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


class FocalLoss(nn.Module):
    """``nn.Module`` form of :func:`focal_loss` (binary, sigmoid)."""

    def __init__(self, gamma: float = 2.0, alpha: float | None = 0.25, *, reduction: str = "mean"):
        super().__init__()
        check_reduction(reduction)
        self.gamma, self.alpha, self.reduction = float(gamma), alpha, reduction

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return focal_loss(logits, target, self.gamma, self.alpha, reduction=self.reduction)


def softmax_focal_loss(
    logits: Tensor,
    target: Tensor,
    gamma: float = 2.0,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    r"""Multi-class focal loss :math:`-w_y(1-p_y)^\gamma\log p_y` with :math:`p=\mathrm{softmax}`.

    γ = 0 is (weighted) cross-entropy; ``mean`` divides by the number of kept positions
    (not by the total weight).
    """
    check_reduction(reduction)
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    flat, t = flatten_logits(logits, target)
    keep = check_targets(t, flat.shape[1], ignore_index)
    logp = F.log_softmax(flat, dim=1)
    logp_t, safe = gather_target(logp, t, keep)
    loss = -logp_t * (1 - logp_t.exp()).pow(gamma)
    if weight is not None:
        w = torch.as_tensor(weight, dtype=flat.dtype, device=flat.device)
        if w.shape != (flat.shape[1],):
            raise ValueError(f"weight must have shape ({flat.shape[1]},), got {tuple(w.shape)}")
        loss = loss * w[safe]
    shape = (logits.shape[0],) + tuple(logits.shape[2:])
    return reduce_loss(loss, keep, reduction, shape)


def _binary_inputs(logits: Tensor, target: Tensor) -> Tensor:
    check_float("logits", logits)
    if not isinstance(target, Tensor) or target.shape != logits.shape:
        raise ValueError("target must be a tensor with the same shape as logits")
    check_finite("logits", logits)
    t = target.to(logits.dtype)
    if bool(((t < 0) | (t > 1)).any()):
        raise ValueError("binary target values must lie in [0, 1]")
    return t


def smooth_f1(logits: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    r"""Smooth (soft) F1 of a batch: :math:`F1 = \frac{2\,\mathbb E[y p]}{\mathbb E[y+p]}`,

    :math:`p=\sigma(\text{logits})` (7708). Equals ``1 - SoftF1Loss`` of pytorch_optimizer, as
    2TP/(2TP+FP+FN) = 2Σyp/(Σy+Σp).
    """
    t = _binary_inputs(logits, target)
    p = torch.sigmoid(logits)
    return 2 * (t * p).sum() / ((t + p).sum() + eps)


def smooth_f1_cross_entropy(logits: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    r"""The weighted cross-entropy that Su derives from the smooth F1 (7708):

    .. math:: -\mathbb E\big[y(1-\tfrac{F}{2})\log p+(1-y)\tfrac{F}{2}\log(1-p)\big],

    where :math:`F` is :func:`smooth_f1` of the batch, held constant (stop-gradient). It follows
    from the negative gradient of :math:`F` after replacing :math:`\nabla p` by
    :math:`\nabla\log p` (and :math:`-\nabla p` by :math:`\nabla\log(1-p)`). Early on (F ≈ 0)
    it is plain BCE on positives; as F grows, negatives gain weight.
    """
    check_reduction(reduction)
    t = _binary_inputs(logits, target)
    f1 = smooth_f1(logits, target).detach()
    pos = F.logsigmoid(logits)
    neg = F.logsigmoid(-logits)
    loss = -(t * (1 - f1 / 2) * pos + (1 - t) * (f1 / 2) * neg)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


class SmoothF1CrossEntropy(nn.Module):
    """``nn.Module`` form of :func:`smooth_f1_cross_entropy`."""

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return smooth_f1_cross_entropy(logits, target, reduction=self.reduction)


def smooth_macro_f1(logits: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    r"""Smooth (soft) macro-F1 of a batch with softmax probabilities (kexue.fm/archives/5505):

    .. math:: F = \frac1C\sum_c \frac{2\sum_i y_{ic}\,p_{ic}}{\sum_i (y_{ic} + p_{ic})},

    :math:`p = \mathrm{softmax}(\text{logits})`, :math:`y` one-hot. On one-hot predictions it
    is the hard macro-F1 (a class absent from both counts 0, up to ``eps``). The article's
    second training stage minimises :math:`-\log(F + \epsilon)` from the cross-entropy
    model (training on it from scratch did not converge).

    Args:
        logits: ``(batch, classes)``.
        target: ``(batch,)`` class indices.
    """
    check_float("logits", logits)
    if logits.dim() != 2:
        raise ValueError(f"logits must be (batch, classes), got {tuple(logits.shape)}")
    check_targets(target.reshape(-1), logits.shape[1], -100)
    if target.shape != logits.shape[:1]:
        raise ValueError(f"target shape {tuple(target.shape)} != (batch,) {logits.shape[0]}")
    p = torch.softmax(logits, dim=1)
    y = F.one_hot(target, logits.shape[1]).to(p.dtype)
    return (2 * (y * p).sum(0) / ((y + p).sum(0) + eps)).mean()


def smoothed_accuracy(
    logits: Tensor, target: Tensor, *, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    r"""Smoothed accuracy :math:`p_\theta(y|x)=\mathrm{softmax}(f)_y` per position (7615, 7708).

    Its mean is the differentiable surrogate of accuracy. Su's point: its gradient
    :math:`p(1-p)\nabla f` vanishes for badly wrong samples (p ≈ 0), while cross-entropy's
    :math:`(1-p)\nabla f` does not, which is why one trains with CE, not with this.
    Returns the accuracy (higher is better); minimise ``1 - smoothed_accuracy`` if you must.
    """
    check_reduction(reduction)
    flat, t = flatten_logits(logits, target)
    keep = check_targets(t, flat.shape[1], ignore_index)
    p_t, _ = gather_target(F.softmax(flat, dim=1), t, keep)
    shape = (logits.shape[0],) + tuple(logits.shape[2:])
    return reduce_loss(p_t, keep, reduction, shape)
