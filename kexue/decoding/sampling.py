"""Top-k and top-p (nucleus) filtering of next-token logits.

Both return a copy of the logits with the excluded tokens set to ``-inf``; sampling from the
softmax of the result therefore never emits an excluded token.
"""

from __future__ import annotations

import torch

__all__ = ["top_k_filter", "top_p_filter"]


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row (``k = 0`` keeps all); ties at the k-th are kept.

    Used by bert4keras's ``random_sample(topk=...)`` (e.g. topk 5 for GPT2_ML,
    https://kexue.fm/archives/7292). Fan et al. 2018, "Hierarchical Neural Story Generation".
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 0:
        raise ValueError(f"top_k must be an int >= 0 (0 disables it), got {k!r}")
    if k == 0 or k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filtering: keep the smallest set of most likely tokens whose probability mass >= p.

    With the tokens sorted by probability, token i is kept iff the mass of the tokens before it is
    < p, so the most likely token is always kept and ``p = 1`` keeps everything. Holtzman et al.
    2019, "The Curious Case of Neural Text Degeneration"; bert4keras's ``topp`` (0.95 for GPT2_ML).
    """
    if not (isinstance(p, int | float) and 0.0 < p <= 1.0):
        raise ValueError(f"top_p must be in (0, 1], got {p!r}")
    if p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits.to(torch.promote_types(logits.dtype, torch.float32)), -1)
    mass_before = torch.cumsum(probs, dim=-1) - probs
    drop_sorted = mass_before >= p
    drop_sorted[..., 0] = False
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))
