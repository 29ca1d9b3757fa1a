"""The DGCNN reader (kexue.fm/archives/5409, 6906), character level, trained from scratch.

Layout of the 2019 Keras release (``bojone/dgcnn_for_reading_comprehension``), smaller:

- question: embedding → gated dilated conv blocks, rates 1, 2, 1 → attention pooling ``qv``;
- passage: embedding (+ the question-match feature, the 2018 model's feature 1 at character
  level; the release has none) → concat ``qv`` → linear → blocks, rates 1, 2, 4, 8, 16, 1 →
  concat ``qv`` → attention pooling ``pv`` → global score ``σ(w·pv + b)``;
- start and end: a per-character sigmoid, each multiplied by the global score
  (``p_start = σ(s_i)·σ(g)``), so "no answer" and several occurrences are both allowed.

Pitfall: the product of two sigmoids is not a sigmoid of a logit; :func:`product_logit` gives
the exact logit ``log p − log(1 − p)`` of the product so that the logit-based
:func:`kexue.objectives.focal_loss` applies to it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kexue.layers.conv import GatedDilatedConv1d
from kexue.layers.pooling import AttentionPooling1d

__all__ = ["DGCNNConfig", "DGCNN", "product_logit"]


@dataclass
class DGCNNConfig:
    vocab_size: int
    hidden: int = 64
    question_rates: tuple[int, ...] = (1, 2, 1)
    passage_rates: tuple[int, ...] = (1, 2, 4, 8, 16, 1)
    kernel_size: int = 3
    match_feature: bool = True
    gate_noise: float = 0.1
    gate_dropout: float = 0.1
    dropout: float = 0.1
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DGCNNConfig:
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown DGCNN config keys: {sorted(unknown)}")
        d = dict(d)
        for k in ("question_rates", "passage_rates"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["question_rates"], d["passage_rates"] = list(self.question_rates), list(
            self.passage_rates)
        return d


def product_logit(a: Tensor, b: Tensor) -> Tensor:
    """The logit of ``σ(a)·σ(b)``: ``log p − log(1 − p)`` with ``log p = logσ(a) + logσ(b)``,
    computed stably (``log(1 − p) = log(−expm1(log p))``)."""
    logp = F.logsigmoid(a) + F.logsigmoid(b)
    logp = logp.clamp(max=-1e-7)  # p < 1 strictly (float rounding)
    return logp - torch.log(-torch.expm1(logp))


class DGCNN(nn.Module):
    """Start/end logits of the answer span and the global logit for each passage.

    ``forward(q_ids, p_ids, p_feat)`` (padding id 0) returns ``(start, end, global)``:
    ``start``/``end`` ``(batch, p_len)`` are the per-character logits *before* the global
    factor, ``global`` ``(batch,)``; use :meth:`probabilities` for ``σ(s)·σ(g)``.
    """

    def __init__(self, config: DGCNNConfig) -> None:
        super().__init__()
        c = self.config = config
        d = c.hidden
        self.embed = nn.Embedding(c.vocab_size, d, padding_idx=0)
        self.feat = nn.Embedding(3, d, padding_idx=0) if c.match_feature else None
        self.drop = nn.Dropout(c.dropout)

        def blocks(rates):
            return nn.ModuleList(
                GatedDilatedConv1d(d, c.kernel_size, r, gate_noise=c.gate_noise,
                                   gate_dropout=c.gate_dropout) for r in rates)

        self.q_blocks = blocks(c.question_rates)
        self.q_pool = AttentionPooling1d(d)
        self.p_in = nn.Linear(2 * d, d)
        self.p_blocks = blocks(c.passage_rates)
        self.p_pool = AttentionPooling1d(2 * d)
        self.global_head = nn.Linear(2 * d, 1)
        self.span_head = nn.Linear(2 * d, 2)

    def forward(self, q_ids: Tensor, p_ids: Tensor, p_feat: Tensor | None = None
                ) -> tuple[Tensor, Tensor, Tensor]:
        q_mask, p_mask = q_ids > 0, p_ids > 0
        q = self.drop(self.embed(q_ids))
        for block in self.q_blocks:
            q = block(q, q_mask)
        qv = self.q_pool(q, q_mask)
        p = self.embed(p_ids)
        if self.feat is not None:
            if p_feat is None:
                raise ValueError("this model uses the question-match feature: pass p_feat")
            p = p + self.feat(p_feat)
        p = self.drop(p)
        qv_t = qv.unsqueeze(1).expand(-1, p.shape[1], -1)
        h = self.p_in(torch.cat([p, qv_t], -1))
        for block in self.p_blocks:
            h = block(h, p_mask)
        h = torch.cat([h, qv_t], -1)
        pv = self.p_pool(h, p_mask)
        g = self.global_head(pv).squeeze(-1)
        se = self.span_head(h)
        neg = torch.finfo(se.dtype).min / 2
        se = se.masked_fill(~p_mask.unsqueeze(-1), neg)
        return se[..., 0], se[..., 1], g

    @torch.no_grad()
    def probabilities(self, q_ids: Tensor, p_ids: Tensor, p_feat: Tensor | None = None
                      ) -> tuple[Tensor, Tensor]:
        s, e, g = self(q_ids, p_ids, p_feat)
        pg = torch.sigmoid(g).unsqueeze(-1)
        return torch.sigmoid(s) * pg, torch.sigmoid(e) * pg

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def receptive_field(rates: tuple[int, ...], kernel_size: int = 3) -> int:
    """Steps seen on each side by a stack of blocks with these dilation rates."""
    return sum(r * (kernel_size - 1) // 2 for r in rates)


