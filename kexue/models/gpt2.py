"""OpenAI GPT-2 (Radford et al., 2019): pre-LN decoder with a final LayerNorm and a tied head.

Layer: ``h = x + Attn(LN1(x))`` (causal), ``y = h + FFN(LN2(h))``; output ``LN_f(y) E^T``.
"""

from __future__ import annotations

import torch
from torch import nn

from kexue.layers.attention import MultiHeadAttention
from kexue.layers.dense import linear
from kexue.layers.feedforward import FeedForward
from kexue.models import masks
from kexue.models.cache import KVCache
from kexue.models.config import GPT2Config
from kexue.models.outputs import ModelOutput
from kexue.models.pretrained import SavesPretrained

__all__ = ["GPT2", "GPT2Layer", "check_decoder_inputs", "check_token_ids"]


def check_token_ids(token_ids: torch.Tensor, vocab_size: int) -> None:
    """Integer ids within ``[0, vocab_size)``, else a ``ValueError`` naming the problem."""
    if token_ids.is_floating_point() or token_ids.is_complex() or token_ids.dtype == torch.bool:
        raise ValueError(f"token ids must be integers, got {token_ids.dtype}")
    if token_ids.numel() and (int(token_ids.min()) < 0 or int(token_ids.max()) >= vocab_size):
        raise ValueError(
            f"token ids must lie in [0, {vocab_size}) (the vocabulary); got range "
            f"[{int(token_ids.min())}, {int(token_ids.max())}]"
        )


def check_decoder_inputs(
    token_ids: torch.Tensor,
    segment_ids: torch.Tensor | None,
    position_ids: torch.Tensor | None,
    past: int,
    max_positions: int,
) -> torch.Tensor:
    """Validate the inputs of a decoder-only model and return its position ids.

    Raises ``ValueError`` for a wrong shape, segment ids, or a position at or beyond
    ``max_positions`` (the trained position table).
    """
    if token_ids.dim() != 2:
        raise ValueError(f"token_ids must be (batch, length), got {tuple(token_ids.shape)}")
    if segment_ids is not None:
        raise ValueError("this model has no segment embeddings: pass segment_ids=None")
    b, n = token_ids.shape
    if position_ids is None:
        position_ids = torch.arange(past, past + n, device=token_ids.device).expand(b, n)
    elif position_ids.shape != token_ids.shape:
        raise ValueError(
            f"position_ids shape {tuple(position_ids.shape)} != token_ids {tuple(token_ids.shape)}"
        )
    if n and int(position_ids.max()) >= max_positions:
        raise ValueError(
            f"position {int(position_ids.max())} is beyond the {max_positions} trained positions"
        )
    return position_ids


class GPT2Layer(nn.Module):
    """Pre-LN block: ``x + Attn(LN(x))`` then ``x + FFN(LN(x))``."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        c = config
        self.attn_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.attn = MultiHeadAttention(
            c.hidden_size, c.num_attention_heads, dropout=c.attention_probs_dropout_prob
        )
        self.ffn_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.ffn = FeedForward(c.hidden_size, c.intermediate_size, c.hidden_act)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, x, bias, cache=None, layer=0):
        a, _ = self.attn(self.attn_norm(x), bias, cache=cache, layer=layer)
        x = x + self.dropout(a)
        return x + self.dropout(self.ffn(self.ffn_norm(x)))


class GPT2(SavesPretrained, nn.Module):
    """GPT-2 with the kexue model contract (docs/design.md).

    Returns a :class:`~kexue.models.outputs.ModelOutput`: ``hidden``, the final (causal)
    hidden states ``(batch, new_len, hidden)``, and for ``application="lm"`` ``logits``,
    next-token logits ``(batch, new_len, vocab)``.
    Subclasses of other decoder-only layouts (GPT2_ML) swap the block and the norms around it.
    """

    family = "gpt2"
    layer_class: type[nn.Module] = GPT2Layer

    def __init__(self, config: GPT2Config, application: str = "lm") -> None:
        super().__init__()
        if application not in ("lm", "encoder"):
            raise ValueError(
                f"{self.family} application must be 'lm' or 'encoder', got {application!r}"
            )
        self.config = config
        self.application = application
        c = config
        self.token = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.emb_norm = self.embedding_norm(c)
        self.dropout = nn.Dropout(c.embedding_dropout_prob)
        self.layers = nn.ModuleList(self.layer_class(c) for _ in range(c.num_hidden_layers))
        self.final_norm = self.output_norm(c)

    def embedding_norm(self, config) -> nn.Module:
        """Normalisation of ``E_tok[x] + E_pos[p]``: none in GPT-2."""
        return nn.Identity()

    def output_norm(self, config) -> nn.Module:
        """Normalisation after the last block: GPT-2's final LayerNorm ``LN_f``."""
        return nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    @property
    def vocab_size(self) -> int:
        return self.token.num_embeddings

    def new_cache(self) -> KVCache:
        return KVCache(len(self.layers))

    def forward(
        self,
        token_ids: torch.Tensor,
        segment_ids: torch.Tensor | None = None,
        *,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> ModelOutput:
        past = cache.length if cache is not None else 0
        position_ids = check_decoder_inputs(
            token_ids, segment_ids, position_ids, past, self.position.num_embeddings
        )
        check_token_ids(token_ids, self.token.num_embeddings)
        x = self.dropout(self.emb_norm(self.token(token_ids) + self.position(position_ids)))
        n = token_ids.shape[1]
        bias = masks.decoder_bias(attention_mask, n, past + n, x.dtype, x.device)
        for i, layer in enumerate(self.layers):
            x = layer(x, bias, cache, i)
        x = self.final_norm(x)
        logits = linear(x, self.token.weight) if self.application == "lm" else None
        return ModelOutput(hidden=x, logits=logits)
