r"""The Sentence-BERT / InferSent classifier head on :math:`[u, v, |u-v|]`
(kexue.fm/archives/8541, 用开源的人工标注数据来增强RoFormer-Sim; Reimers & Gurevych,
Sentence-BERT, arXiv:1908.10084).

``logits = W [u; v; |u − v|]`` (Dense without bias, 2 outputs for binary pairs, 5 for the
masked binary + NLI output of 8541). Training uses this head, inference uses only the cosine
of ``u`` and ``v``. Su's reading: :math:`\langle u,w_1\rangle + \langle v,w_2\rangle` act as a
topic classifier and only :math:`\langle|u-v|,w_3\rangle` measures closeness, so noisy
"same-topic" positives are absorbed by the first two terms instead of distorting the cosine.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["PairClassifierHead"]


class PairClassifierHead(nn.Module):
    """``Linear(3·dim → num_outputs, bias=False)`` on ``[u, v, |u − v|]``."""

    def __init__(self, dim: int, num_outputs: int = 2) -> None:
        super().__init__()
        if dim < 1 or num_outputs < 1:
            raise ValueError("dim and num_outputs must be >= 1")
        self.dim = dim
        self.dense = nn.Linear(3 * dim, num_outputs, bias=False)

    @staticmethod
    def features(u: Tensor, v: Tensor) -> Tensor:
        """``[u, v, |u − v|]`` along the last axis."""
        if u.shape != v.shape:
            raise ValueError(f"u and v differ in shape: {tuple(u.shape)} vs {tuple(v.shape)}")
        return torch.cat([u, v, (u - v).abs()], dim=-1)

    def forward(self, u: Tensor, v: Tensor) -> Tensor:
        return self.dense(self.features(u, v))
