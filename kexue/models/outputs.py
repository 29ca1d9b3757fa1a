"""The structured output of encoders built with heads."""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["EncoderOutput"]


@dataclass
class EncoderOutput:
    """What an encoder returns when a head is requested.

    Attributes:
        hidden: final hidden states ``(batch, length, hidden)``.
        pooled: pooler output ``(batch, hidden)`` (``with_pool``), else ``None``.
        nsp_logits: next-sentence logits ``(batch, 2)`` (``with_nsp``), index 0 = "IsNext".
        mlm_logits: masked-LM logits ``(batch, length, vocab)`` (``with_mlm``).
    """

    hidden: torch.Tensor
    pooled: torch.Tensor | None = None
    nsp_logits: torch.Tensor | None = None
    mlm_logits: torch.Tensor | None = None
