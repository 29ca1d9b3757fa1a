r"""Sentence vectors from a Transformer's outputs: the pooling choices P1–P4 of
kexue.fm/archives/8321 (无监督语义相似度哪家强？我们做了个比较全面的评测).

With ``h^{(l)}_i`` the output of Transformer layer ``l`` (1-based, after its last LayerNorm) at
token ``i``, ``L`` layers and ``M`` the real (non-padding) tokens, ``[CLS]`` and ``[SEP]``
included (Su's Keras masking counts every non-padding token):

- **P1** ``"cls"``: :math:`h^{(L)}_0`, the last layer's ``[CLS]`` vector;
- **P2** ``"pooler"``: :math:`\tanh(W h^{(L)}_0 + b)`, the NSP pooler (``with_pool``; a
  ``"linear"`` pooler, SimBERT's, drops the tanh);
- **P3** ``"last-avg"``: :math:`\frac1{|M|}\sum_{i\in M} h^{(L)}_i`;
- **P4** ``"first-last-avg"``: :math:`\frac12(\bar h^{(1)} + \bar h^{(L)})` with the masked
  mean :math:`\bar h^{(l)} = \frac1{|M|}\sum_{i\in M} h^{(l)}_i`.

Pitfall: "first" is the output of the first Transformer layer (Su's
``Transformer-0-FeedForward-Norm``), not the embedding layer that some later re-implementations
use; and the mean must skip padding, or a sentence's vector depends on its batch.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["POOLINGS", "ALIASES", "canonical", "masked_mean", "pool"]

#: the four poolings, in the article's order
POOLINGS = ("P1", "P2", "P3", "P4")
#: names accepted for each (the article's P-numbers and Su's code's names)
ALIASES = {"p1": "P1", "cls": "P1", "p2": "P2", "pooler": "P2", "p3": "P3", "last-avg": "P3",
           "mean": "P3", "p4": "P4", "first-last-avg": "P4"}


def canonical(name: str) -> str:
    """``"cls"`` → ``"P1"`` etc.; ``ValueError`` naming the choices for anything else."""
    key = str(name).strip().lower()
    if key not in ALIASES:
        raise ValueError(f"unknown pooling {name!r}; choose one of P1 (cls), P2 (pooler), "
                         f"P3 (last-avg), P4 (first-last-avg)")
    return ALIASES[key]


def masked_mean(hidden: Tensor, mask: Tensor) -> Tensor:
    """Mean over the tokens where ``mask`` is 1: ``(batch, len, dim)`` → ``(batch, dim)``.
    A row with no real token is an error (its mean is undefined)."""
    if hidden.dim() != 3 or mask.shape != hidden.shape[:2]:
        raise ValueError(f"expected hidden (batch, len, dim) and mask (batch, len), got "
                         f"{tuple(hidden.shape)} and {tuple(mask.shape)}")
    m = mask.to(hidden.dtype).unsqueeze(-1)
    count = m.sum(1)
    if bool((count == 0).any()):
        raise ValueError("a row has no real token (all padding): cannot average it")
    return (hidden * m).sum(1) / count


def pool(mode: str, hidden: Tensor, mask: Tensor, *, first: Tensor | None = None,
         pooled: Tensor | None = None) -> Tensor:
    """The sentence vectors of pooling ``mode`` (P1–P4 or an alias).

    Args:
        hidden: last-layer outputs ``(batch, len, dim)`` (right-padded: ``[CLS]`` at 0).
        mask: ``(batch, len)``, 1 for real tokens.
        first: the first layer's outputs (needed by P4).
        pooled: the pooler output ``(batch, dim)`` (needed by P2).
    """
    mode = canonical(mode)
    if mode == "P1":
        return hidden[:, 0]
    if mode == "P2":
        if pooled is None:
            raise ValueError("P2 (pooler) needs a model built with a pooler (with_pool=True)")
        return pooled
    if mode == "P3":
        return masked_mean(hidden, mask)
    if first is None:
        raise ValueError("P4 (first-last-avg) needs the first layer's outputs")
    return (masked_mean(first, mask) + masked_mean(hidden, mask)) / 2
