"""GPT2_ML (imcaspar/gpt2-ml, after Grover; https://kexue.fm/archives/7292).

Neither OpenAI GPT-2 nor BERT: the embedding is ``LN(E_tok[x] + E_pos[p])``; each layer is

    h = x + Attn(x)                      (causal, no LayerNorm around attention)
    y = LN1(h + W2 gelu(W1 LN0(h)))      (LN0 pre-norm on the FFN input, LN1 post-norm)

and the output is ``y E^T`` with the tied token embedding, no bias and no final LayerNorm.
GELU is the exact (erf) one.
"""

from __future__ import annotations

import torch
from torch import nn

from kexue.layers.attention import MultiHeadAttention
from kexue.layers.feedforward import FeedForward
from kexue.models.cache import KVCache
from kexue.models.config import GPT2MLConfig
from kexue.models.gpt2 import check_decoder_inputs, decoder_bias

__all__ = ["GPT2ML", "GPT2MLLayer"]


class GPT2MLLayer(nn.Module):
    """``h = x + Attn(x)``; ``y = LN1(h + FFN(LN0(h)))``."""

    def __init__(self, config: GPT2MLConfig) -> None:
        super().__init__()
        c = config
        self.attn = MultiHeadAttention(
            c.hidden_size, c.num_attention_heads, dropout=c.attention_probs_dropout_prob
        )
        self.ffn_in_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.ffn = FeedForward(c.hidden_size, c.intermediate_size, c.hidden_act)
        self.ffn_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, x, bias, cache=None, layer=0):
        a, _ = self.attn(x, bias, cache=cache, layer=layer)
        h = x + self.dropout(a)
        return self.ffn_norm(h + self.dropout(self.ffn(self.ffn_in_norm(h))))


class GPT2ML(nn.Module):
    """GPT2_ML with the kexue model contract; ``"lm"`` -> logits, ``"encoder"`` -> hidden."""

    def __init__(self, config: GPT2MLConfig, application: str = "lm") -> None:
        super().__init__()
        if application not in ("lm", "encoder"):
            raise ValueError(f"gpt2_ml application must be 'lm' or 'encoder', got {application!r}")
        self.config = config
        self.application = application
        c = config
        self.token = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.emb_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.embedding_dropout_prob)
        self.layers = nn.ModuleList(GPT2MLLayer(c) for _ in range(c.num_hidden_layers))

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
    ) -> torch.Tensor:
        past = cache.length if cache is not None else 0
        position_ids = check_decoder_inputs(
            token_ids, segment_ids, position_ids, past, self.position.num_embeddings
        )
        x = self.dropout(self.emb_norm(self.token(token_ids) + self.position(position_ids)))
        n = token_ids.shape[1]
        bias = decoder_bias(attention_mask, n, past + n, x.dtype, x.device)
        for i, layer in enumerate(self.layers):
            x = layer(x, bias, cache, i)
        if self.application == "lm":
            return torch.nn.functional.linear(x, self.token.weight)
        return x
