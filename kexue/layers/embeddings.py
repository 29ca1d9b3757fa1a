"""Input embeddings of the BERT family: token + (absolute position) + segment, then LayerNorm."""

from __future__ import annotations

import torch
from torch import nn

from kexue.layers.dense import Dense
from kexue.layers.normalization import LayerNorm
from kexue.layers.positions import hierarchical_positions

__all__ = ["Embeddings"]


class Embeddings(nn.Module):
    """``LN(E_tok[x] + E_pos[p] + E_seg[s])``, optionally projected to the model width.

    Args:
        vocab_size: token rows.
        embedding_size: embedding width (ALBERT/RoFormer may differ from ``hidden_size``).
        hidden_size: model width; a ``project`` dense maps to it when it differs.
        max_position: rows of the learned absolute table; 0 for none (rotary / relative).
        type_vocab_size: segment rows; 0 for none.
        eps: LayerNorm epsilon; ``None`` for no LayerNorm.
        hierarchical_position: extend the absolute table beyond ``max_position`` by the
            hierarchical decomposition (https://kexue.fm/archives/7947); ``True`` means
            ``alpha = 0.4``, a float sets alpha.
        cond_size, cond_hidden_size, cond_act: Conditional LayerNorm options.
        dropout: embedding dropout (training only).
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        hidden_size: int,
        *,
        max_position: int = 512,
        type_vocab_size: int = 2,
        eps: float | None = 1e-12,
        hierarchical_position: bool | float = False,
        cond_size: int | None = None,
        cond_hidden_size: int | None = None,
        cond_act: str = "linear",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.token = nn.Embedding(vocab_size, embedding_size)
        self.position = nn.Embedding(max_position, embedding_size) if max_position else None
        self.segment = nn.Embedding(type_vocab_size, embedding_size) if type_vocab_size else None
        self.norm = (
            LayerNorm(
                embedding_size,
                eps,
                cond_size=cond_size,
                cond_hidden_size=cond_hidden_size,
                cond_act=cond_act,
            )
            if eps is not None
            else None
        )
        self.project = (
            Dense(embedding_size, hidden_size) if embedding_size != hidden_size else None
        )
        if hierarchical_position is True:
            self.alpha: float | None = 0.4
        elif hierarchical_position is False or hierarchical_position is None:
            self.alpha = None
        else:
            self.alpha = float(hierarchical_position)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def forward(
        self,
        token_ids: torch.Tensor,
        segment_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        cond: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if token_ids.numel() and (
            int(token_ids.min()) < 0 or int(token_ids.max()) >= self.token.num_embeddings
        ):
            raise ValueError(
                f"token ids must lie in [0, {self.token.num_embeddings}); "
                f"got range [{int(token_ids.min())}, {int(token_ids.max())}]"
            )
        x = self.token(token_ids)
        if self.segment is not None:
            if segment_ids is None:
                x = x + self.segment.weight[0]
            else:
                x = x + self.segment(segment_ids)
        if self.position is not None:
            if position_ids is None:
                raise ValueError("position_ids are required with absolute position embeddings")
            n = self.position.num_embeddings
            top = int(position_ids.max()) if position_ids.numel() else 0
            if self.alpha is not None and top >= n:
                x = x + hierarchical_positions(self.position.weight, position_ids, self.alpha)
            else:
                if top >= n:
                    raise ValueError(
                        f"position {top} is beyond the {n} trained positions; pass "
                        "hierarchical_position=True to extend them"
                    )
                x = x + self.position(position_ids)
        if self.norm is not None:
            x = self.norm(x, cond)
        if self.dropout is not None:
            x = self.dropout(x)
        if self.project is not None:
            x = self.project(x)
        return x
