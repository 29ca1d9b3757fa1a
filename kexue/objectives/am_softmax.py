"""AM-Softmax: additive-margin softmax on cosine logits.

Article: https://kexue.fm/archives/5743 (基于GRU和AM-Softmax的句子相似度模型).
Paper: Wang et al., "Additive Margin Softmax for Face Verification", IEEE SPL 2018,
arXiv:1801.05599.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_reduction, check_targets, flatten_logits

__all__ = ["am_softmax_loss", "AMSoftmaxLoss", "CosineClassifier"]


def am_softmax_loss(
    cosine: Tensor,
    target: Tensor,
    scale: float = 30.0,
    margin: float = 0.35,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    r"""AM-Softmax loss on cosine similarities :math:`\cos\theta_i` (features and class
    vectors both L2-normalised):

    .. math:: -\log\frac{e^{s(\cos\theta_t-m)}}
              {e^{s(\cos\theta_t-m)}+\sum_{i\ne t}e^{s\cos\theta_i}}.

    Defaults s = 30, m = 0.35 (the paper's, used in 5743). m = 0 gives softmax CE on
    ``s * cosine``. Training pushes the target cosine at least m above the others, which
    makes the encoder useful for retrieval of unseen classes (classification ≠ ranking).

    Args:
        cosine: ``(N, C)`` (or ``(N, C, ...)``) cosines in [-1, 1]; see :class:`CosineClassifier`.
        target: class indices.
    """
    check_reduction(reduction)
    flat, t = flatten_logits(cosine, target, name="cosine")
    if flat.numel() and float(flat.detach().abs().max()) > 1 + 1e-4:
        raise ValueError(
            "cosine values must lie in [-1, 1]; pass cosines of L2-normalised vectors "
            "(e.g. from CosineClassifier), not raw logits"
        )
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    keep = check_targets(t, flat.shape[1], ignore_index)
    safe = torch.where(keep, t, torch.zeros_like(t))
    onehot = F.one_hot(safe, flat.shape[1]).to(flat.dtype)
    loss = F.cross_entropy(
        scale * (flat - margin * onehot), t, ignore_index=ignore_index, reduction=reduction
    )
    if reduction == "none":
        return loss.reshape((cosine.shape[0],) + tuple(cosine.shape[2:]))
    return loss


class AMSoftmaxLoss(nn.Module):
    """``nn.Module`` form of :func:`am_softmax_loss`."""

    def __init__(
        self,
        scale: float = 30.0,
        margin: float = 0.35,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        if scale <= 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        self.scale, self.margin = float(scale), float(margin)
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, cosine: Tensor, target: Tensor) -> Tensor:
        return am_softmax_loss(
            cosine,
            target,
            self.scale,
            self.margin,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class CosineClassifier(nn.Module):
    """Bias-free linear head with L2-normalised inputs and class vectors: returns cosines.

    ``CosineClassifier(d, C)(h)`` is ``normalize(h) @ normalize(W).T`` with ``W`` of shape
    ``(C, d)``: the Dense layer with a ``unit_norm`` kernel that 5743 puts under AM-Softmax.
    """

    def __init__(self, in_features: int, num_classes: int, eps: float = 1e-12) -> None:
        super().__init__()
        if in_features < 1 or num_classes < 1:
            raise ValueError("in_features and num_classes must be positive")
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.normal_(self.weight, std=in_features**-0.5)
        self.eps = eps

    def forward(self, features: Tensor) -> Tensor:
        if features.shape[-1] != self.weight.shape[1]:
            raise ValueError(
                f"features last dim {features.shape[-1]} != in_features {self.weight.shape[1]}"
            )
        h = F.normalize(features, dim=-1, eps=self.eps)
        w = F.normalize(self.weight, dim=-1, eps=self.eps)
        return (h @ w.T).clamp(-1.0, 1.0)
