"""GPT2_ML (imcaspar/gpt2-ml, after Grover; https://kexue.fm/archives/7292).

Neither OpenAI GPT-2 nor BERT: the embedding is ``LN(E_tok[x] + E_pos[p])``; each layer is

    h = x + Attn(x)                      (causal, no LayerNorm around attention)
    y = LN1(h + W2 gelu(W1 LN0(h)))      (LN0 pre-norm on the FFN input, LN1 post-norm)

and the output is ``y E^T`` with the tied token embedding, no bias and no final LayerNorm.
GELU is the exact (erf) one.
"""

from __future__ import annotations

from torch import nn

from kexue.layers.attention import MultiHeadAttention
from kexue.layers.feedforward import FeedForward
from kexue.models.config import GPT2MLConfig
from kexue.models.gpt2 import GPT2

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


class GPT2ML(GPT2):
    """GPT2_ML with the kexue model contract; ``"lm"`` -> logits, ``"encoder"`` -> hidden.

    GPT-2's embeddings, cache and head with the GPT2_ML block, a LayerNorm on the embedding sum
    and no final LayerNorm.
    """

    family = "gpt2_ml"
    layer_class = GPT2MLLayer

    def embedding_norm(self, config) -> nn.Module:
        return nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def output_norm(self, config) -> nn.Module:
        return nn.Identity()
