"""TeaForN: teacher forcing with N-grams (nested teacher forcing).

Article: https://kexue.fm/archives/7818 (TeaForN: 让Teacher Forcing更有"远见"一些).
Paper: Goodman, Ding, Soricut, "TeaForN: Teacher-Forcing with N-grams", EMNLP 2020,
arXiv:2010.03494.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ._checks import check_float, check_reduction

__all__ = ["teaforn_logits", "teaforn_loss"]


def teaforn_logits(
    embeddings: Tensor,
    body: Callable[[Tensor], Tensor],
    head: Callable[[Tensor], Tensor],
    num_levels: int = 2,
) -> list[Tensor]:
    r"""The logits of every TeaForN level.

    Level 1 is ordinary teacher forcing, :math:`h^{(1)}=M([e_0,\dots,e_{L-1}])`. Level k+1 feeds
    the previous level's hidden states back, shifted right, in place of the embeddings:
    :math:`h^{(k+1)}=M([e_0,h^{(k)}_1,\dots,h^{(k)}_{L-1}])`. With a causal body M, level i at
    position t has seen gold tokens only up to :math:`w_{t-i}`, so it predicts i steps ahead.
    Gradients flow across levels (no stop-gradient, as the paper intends) and M is shared.

    Args:
        embeddings: ``(B, L, d)`` input embeddings :math:`e_0..e_{L-1}` (position 0 = BOS).
        body: causal decoder body mapping ``(B, L, d)`` to hidden states ``(B, L, d)`` in the
            **same space as its input** (the pitfall: a final LayerNorm or tied embeddings may
            change the scale; the paper feeds h directly).
        head: output layer mapping hidden states to logits ``(B, L, V)`` (shared by all levels).
        num_levels: N >= 1.
    """
    check_float("embeddings", embeddings)
    if embeddings.dim() != 3:
        raise ValueError(f"embeddings must be (batch, length, dim), got {tuple(embeddings.shape)}")
    if not isinstance(num_levels, int) or num_levels < 1:
        raise ValueError(f"num_levels must be an int >= 1, got {num_levels!r}")
    x = embeddings
    out = []
    for level in range(num_levels):
        h = body(x)
        if not isinstance(h, Tensor) or h.shape != embeddings.shape:
            raise ValueError(
                f"body must return hidden states of the input shape {tuple(embeddings.shape)} "
                f"(TeaForN feeds them back as inputs), got {tuple(getattr(h, 'shape', ()))}"
            )
        out.append(head(h))
        if level + 1 < num_levels:
            x = torch.cat([embeddings[:, :1], h[:, :-1]], dim=1)
    return out


def teaforn_loss(
    embeddings: Tensor,
    targets: Tensor,
    body: Callable[[Tensor], Tensor],
    head: Callable[[Tensor], Tensor],
    num_levels: int = 2,
    weights: Sequence[float] | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    r"""TeaForN loss :math:`-\sum_t\sum_{i=1}^{N}\lambda_i\log p^{(i)}_t[w_t]`.

    ``targets[:, t]`` is the token :math:`w_{t+1}` that position t predicts (the usual
    next-token target); padding positions hold ``ignore_index`` and are ignored at every level.
    Each level's cross-entropy is reduced like ``F.cross_entropy`` and the levels are summed
    with weights λ (default: all 1; Su gives no values). N = 1 is plain teacher forcing.
    Inference uses level 1 only. Training costs about N× the decoder compute.
    """
    check_reduction(reduction)
    if reduction == "none":
        raise ValueError("teaforn_loss sums levels; use reduction 'mean' or 'sum'")
    if weights is None:
        weights = [1.0] * num_levels
    if len(weights) != num_levels:
        raise ValueError(f"need {num_levels} level weights, got {len(weights)}")
    if targets.shape != embeddings.shape[:2]:
        raise ValueError(
            f"targets shape {tuple(targets.shape)} must be (batch, length) = "
            f"{tuple(embeddings.shape[:2])}"
        )
    total = embeddings.new_zeros(())
    for lam, logits in zip(weights, teaforn_logits(embeddings, body, head, num_levels)):
        if logits.dim() != 3 or logits.shape[:2] != targets.shape:
            raise ValueError(f"head must return (batch, length, vocab), got {tuple(logits.shape)}")
        valid = targets[targets != ignore_index]
        if valid.numel() and (int(valid.min()) < 0 or int(valid.max()) >= logits.shape[-1]):
            raise ValueError(f"targets must lie in [0, {logits.shape[-1] - 1}] or ignore_index")
        ce = F.cross_entropy(
            logits.transpose(1, 2), targets, ignore_index=ignore_index, reduction=reduction
        )
        total = total + lam * ce
    return total
