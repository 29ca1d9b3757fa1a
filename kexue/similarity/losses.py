r"""Training objectives for sentence vectors.

- :func:`simbert_contrastive_loss` (kexue.fm/archives/7427, SimBERT): the batch holds
  similar sentences in adjacent rows (``2i`` ↔ ``2i+1``). With :math:`\tilde V` the
  L2-normalised vectors, :math:`S = s\,\tilde V\tilde V^\top` (scale ``s = 30``; RoFormer-Sim
  used 20), the diagonal masked to :math:`-10^{12}`, the loss is the row-wise softmax
  cross-entropy whose target of row ``i`` is ``i xor 1``. Pitfall: without the mask every row
  "finds" itself (cos = 1) and the loss is trivial.
- :func:`distillation_loss` (archives/8454, RoFormer-Sim stage 2):
  :math:`L = \frac{\lambda}{n^2}\sum_{i,j}(\cos(u_i,u_j)-\cos(v_i,v_j))^2`, λ = 100, teacher
  ``u`` (no gradient), student ``v``.
- :func:`cosent_loss` (archives/8847, CoSENT): with cosines :math:`c_k` and labels
  :math:`y_k`, :math:`\log\big(1+\sum_{y_i>y_j} e^{\lambda(c_j-c_i)}\big)`, λ = 20: only the
  order of the cosines is trained, matching the Spearman evaluation.
- :func:`cosine_regression_loss` (archives/8541's first failed variant):
  :math:`t(\cos-1)^2 + (1-t)\cos^2` with a target :math:`t\in[0,1]`.
- :func:`masked_nway_cross_entropy` (archives/8541, RoFormer-Sim-FT ``special_crossentropy``):
  one Dense(5) output on :math:`[u, v, |u-v|]`; logits 0–1 serve the binary pairs, 2–4 the
  three NLI classes; each row's softmax runs only over its own subset.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["cosent_loss", "cosine_regression_loss", "distillation_loss",
           "masked_nway_cross_entropy", "pair_cosine_matrix", "simbert_contrastive_loss",
           "simbert_labels"]


def _check_2d(name: str, x: Tensor) -> None:
    if x.dim() != 2 or not x.is_floating_point():
        raise ValueError(f"{name} must be a float (batch, dim) tensor, got {x.dtype} "
                         f"{tuple(x.shape)}")


def simbert_labels(n: int, device=None) -> Tensor:
    """Targets of the in-batch contrastive loss: row ``i`` ↔ ``i xor 1`` (0↔1, 2↔3, …)."""
    return torch.arange(n, device=device) ^ 1


def pair_cosine_matrix(v: Tensor) -> Tensor:
    """All pairwise cosines ``(n, n)`` of the rows of ``v``."""
    v = F.normalize(v, dim=-1)
    return v @ v.T


def simbert_contrastive_loss(vectors: Tensor, scale: float = 30.0) -> Tensor:
    """SimBERT's in-batch retrieval loss (mean over rows); ``vectors`` ``(2m, d)`` with
    similar sentences in rows ``2i`` and ``2i+1``."""
    _check_2d("vectors", vectors)
    n = vectors.shape[0]
    if n < 2 or n % 2:
        raise ValueError(f"the batch must hold an even number >= 2 of rows (pairs in adjacent "
                         f"rows), got {n}")
    s = scale * pair_cosine_matrix(vectors)
    s = s.masked_fill(torch.eye(n, dtype=torch.bool, device=s.device), -1e12)
    return F.cross_entropy(s, simbert_labels(n, s.device))


def distillation_loss(student: Tensor, teacher: Tensor, lam: float = 100.0) -> Tensor:
    """RoFormer-Sim's similarity distillation ``λ · mean_{i,j} (cos(u_i,u_j) − cos(v_i,v_j))²``
    (teacher ``u`` detached)."""
    _check_2d("student", student)
    _check_2d("teacher", teacher)
    if student.shape[0] != teacher.shape[0]:
        raise ValueError(f"student and teacher batches differ: {student.shape[0]} vs "
                         f"{teacher.shape[0]}")
    diff = pair_cosine_matrix(teacher.detach()) - pair_cosine_matrix(student)
    return lam * diff.pow(2).mean()


def _cos(u: Tensor, v: Tensor) -> Tensor:
    _check_2d("u", u)
    _check_2d("v", v)
    if u.shape != v.shape:
        raise ValueError(f"u and v differ in shape: {tuple(u.shape)} vs {tuple(v.shape)}")
    return F.cosine_similarity(u, v, dim=-1)


def cosent_loss(u: Tensor, v: Tensor, labels: Tensor, scale: float = 20.0) -> Tensor:
    """CoSENT: ``log(1 + Σ_{y_i > y_j} exp(scale·(cos_j − cos_i)))`` over the batch's pairs."""
    c = _cos(u, v) * scale
    y = labels.to(c.dtype).reshape(-1)
    if y.shape[0] != c.shape[0]:
        raise ValueError(f"{y.shape[0]} labels for {c.shape[0]} pairs")
    diff = c[None, :] - c[:, None]  # diff[i, j] = c_j - c_i
    keep = y[:, None] > y[None, :]
    diff = diff.masked_fill(~keep, float("-inf"))
    zero = torch.zeros(1, dtype=c.dtype, device=c.device)
    return torch.logsumexp(torch.cat([zero, diff.reshape(-1)]), dim=0)


def cosine_regression_loss(u: Tensor, v: Tensor, target: Tensor) -> Tensor:
    """``mean(t·(cos − 1)² + (1 − t)·cos²)`` with targets ``t`` in [0, 1]."""
    c = _cos(u, v)
    t = target.to(c.dtype).reshape(-1)
    if bool(((t < 0) | (t > 1)).any()):
        raise ValueError("cosine regression targets must lie in [0, 1] (scale STS-B by 1/5)")
    return (t * (c - 1) ** 2 + (1 - t) * c ** 2).mean()


def masked_nway_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean cross-entropy of 5-way ``logits`` where rows with label 0/1 (binary pairs) take
    the softmax over logits 0–1 only and rows with label 2/3/4 (NLI) over 2–4 only."""
    if logits.dim() != 2 or logits.shape[1] != 5:
        raise ValueError(f"logits must be (batch, 5), got {tuple(logits.shape)}")
    y = labels.long().reshape(-1)
    if bool(((y < 0) | (y > 4)).any()):
        raise ValueError("labels must be 0/1 (binary pairs) or 2/3/4 (NLI)")
    binary = (y < 2)[:, None]
    cols = torch.arange(5, device=logits.device)[None, :] < 2
    allowed = binary == cols
    return F.cross_entropy(logits.masked_fill(~allowed, float("-inf")), y)
