"""T5 / T5.1.1 / mT5 encoder-decoder (Raffel et al., arXiv 1910.10683).

Pre-RMSNorm blocks without biases; attention is **not** scaled by ``1/sqrt(d)``; a learned
relative-position bias (log buckets) lives in the first layer of each stack and is shared by
all its layers. T5.1.1 / mT5 use the gated-GELU feed-forward (``gelu_new(W0 x) * W1 x``) and
an untied LM head; the original T5 ties the head and scales the decoder output by
``d_model**-0.5``.

``encode(token_ids, attention_mask=None) -> (batch, src_len, hidden)``;
``decode(decoder_ids, encoder_hidden, *, encoder_mask=None, cache=None) -> logits``; the cache
keeps the cross-attention keys/values (computed once) and the encoder mask.
"""

from __future__ import annotations

import torch
from torch import nn

from kexue.layers.attention import MultiHeadAttention
from kexue.layers.dense import Dense
from kexue.layers.feedforward import FeedForward
from kexue.layers.normalization import RMSNorm
from kexue.layers.positions import T5RelativeBias
from kexue.models import masks
from kexue.models.cache import KVCache
from kexue.models.config import T5Config
from kexue.models.gpt2 import check_token_ids
from kexue.models.outputs import ModelOutput
from kexue.models.pretrained import SavesPretrained

__all__ = ["T5", "T5Layer", "T5Stack"]


class T5Layer(nn.Module):
    """``x + SelfAttn(N(x))``, [``x + CrossAttn(N(x), enc)``], ``x + FFN(N(x))``."""

    def __init__(self, config: T5Config, *, cross: bool) -> None:
        super().__init__()
        c = config
        h, heads, d = c.hidden_size, c.num_attention_heads, c.head_size
        self.attn_norm = RMSNorm(h, c.layer_norm_eps)
        self.attn = MultiHeadAttention(h, heads, d, bias=False, scale=False)
        if cross:
            self.cross_norm = RMSNorm(h, c.layer_norm_eps)
            self.cross = MultiHeadAttention(h, heads, d, bias=False, scale=False)
        else:
            self.cross_norm = self.cross = None
        self.ffn_norm = RMSNorm(h, c.layer_norm_eps)
        self.ffn = FeedForward(h, c.intermediate_size, c.act, bias=False, gated=c.gated)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, x, bias, *, memory=None, memory_bias=None, cache=None, layer=0):
        a, _ = self.attn(self.attn_norm(x), bias, cache=cache, layer=layer)
        x = x + self.dropout(a)
        if self.cross is not None:
            a, _ = self.cross(
                self.cross_norm(x), memory_bias, memory=memory, cache=cache, layer=layer
            )
            x = x + self.dropout(a)
        return x + self.dropout(self.ffn(self.ffn_norm(x)))


class T5Stack(nn.Module):
    """The encoder (bidirectional) or decoder (causal, with cross-attention) stack."""

    def __init__(self, config: T5Config, *, decoder: bool) -> None:
        super().__init__()
        c = config
        n = c.num_decoder_layers if decoder else c.num_hidden_layers
        self.is_decoder = decoder
        self.rel_bias = T5RelativeBias(
            c.num_attention_heads,
            bidirectional=not decoder,
            num_buckets=c.relative_attention_num_buckets,
            max_distance=c.relative_attention_max_distance,
        )
        self.layers = nn.ModuleList(T5Layer(c, cross=decoder) for _ in range(n))
        self.final_norm = RMSNorm(c.hidden_size, c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)


class T5(SavesPretrained, nn.Module):
    """T5 encoder-decoder with the kexue model contract (docs/design.md).

    Args:
        config: a :class:`T5Config`.
        with_lm: build the LM head (``decode`` returns logits); without it ``decode`` returns
            the decoder's final hidden states (e.g. for an HF ``T5Model`` checkpoint of an
            untied model, which has no head).
    """

    def __init__(self, config: T5Config, *, with_lm: bool = True) -> None:
        super().__init__()
        self.config = config
        c = config
        self.shared = nn.Embedding(c.vocab_size, c.hidden_size)
        self.encoder = T5Stack(c, decoder=False)
        self.decoder = T5Stack(c, decoder=True)
        self.lm_head = Dense(c.hidden_size, c.vocab_size, bias=False) if with_lm else None

    @property
    def vocab_size(self) -> int:
        return self.shared.num_embeddings

    def new_cache(self) -> KVCache:
        return KVCache(len(self.decoder.layers))

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.dim() != 2:
            raise ValueError(f"token ids must be (batch, length), got {tuple(ids.shape)}")
        check_token_ids(ids, self.shared.num_embeddings)
        return self.shared(ids)

    def encode(
        self, token_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Encoder hidden states ``(batch, src_len, hidden)``.

        Without ``attention_mask``, keys holding ``config.pad_token_id`` are masked
        (bert4keras habit); an explicit mask always wins. Pass the same mask to
        :meth:`decode` (``forward`` does it for you).
        """
        if attention_mask is None:
            attention_mask = masks.padding_mask(token_ids, self.config.pad_token_id)
        stack = self.encoder
        x = stack.dropout(self._embed(token_ids))
        n = token_ids.shape[1]
        pos = torch.arange(n, device=x.device)
        bias = stack.rel_bias(pos, pos).to(x.dtype)
        if attention_mask is not None:
            bias = bias + masks.to_bias(masks.key_padding(attention_mask, n), x.dtype)
        for layer in stack.layers:
            x = layer(x, bias)
        return stack.dropout(stack.final_norm(x))

    def decoder_hidden(
        self,
        decoder_ids: torch.Tensor,
        encoder_hidden: torch.Tensor,
        *,
        encoder_mask: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """Decoder final hidden states ``(batch, new_len, hidden)`` (before any output scaling).

        ``attention_mask`` (optional) masks decoder keys ``(batch, past_len + new_len)``;
        ``encoder_mask`` ``(batch, src_len)`` masks encoder keys and is kept in the cache.
        """
        stack = self.decoder
        x = stack.dropout(self._embed(decoder_ids))
        n = decoder_ids.shape[1]
        past = cache.length if cache is not None else 0
        k_len = past + n
        q_pos = torch.arange(past, k_len, device=x.device)
        k_pos = torch.arange(k_len, device=x.device)
        bias = stack.rel_bias(q_pos, k_pos).to(x.dtype)
        mask_bias = masks.decoder_bias(attention_mask, n, k_len, x.dtype, x.device)
        if mask_bias is not None:
            bias = bias + mask_bias
        if cache is not None:
            if encoder_mask is not None:
                cache.state["encoder_mask"] = encoder_mask
            else:
                encoder_mask = cache.state.get("encoder_mask")
        memory_bias = None
        if encoder_mask is not None:
            memory_bias = masks.to_bias(
                masks.key_padding(encoder_mask, encoder_hidden.shape[1]), x.dtype
            )
        for i, layer in enumerate(stack.layers):
            x = layer(x, bias, memory=encoder_hidden, memory_bias=memory_bias, cache=cache, layer=i)
        return stack.dropout(stack.final_norm(x))

    def decode(
        self,
        decoder_ids: torch.Tensor,
        encoder_hidden: torch.Tensor,
        *,
        encoder_mask: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """Next-token logits ``(batch, new_len, vocab)`` (hidden states without the LM head)."""
        h = self.decoder_hidden(
            decoder_ids,
            encoder_hidden,
            encoder_mask=encoder_mask,
            attention_mask=attention_mask,
            cache=cache,
        )
        if self.lm_head is None:
            return h
        return self._lm(h)

    def forward(
        self,
        token_ids: torch.Tensor,
        decoder_ids: torch.Tensor,
        *,
        attention_mask: torch.Tensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> ModelOutput:
        """``decode(decoder_ids, encode(token_ids, attention_mask), ...)`` as a
        :class:`~kexue.models.outputs.ModelOutput`: ``hidden`` = the decoder's final hidden
        states, ``logits`` = the LM head's (``with_lm``). Without ``attention_mask`` the
        encoder's padding is masked automatically (never the decoder's, whose start token is
        the pad id). ``encode``/``decode`` (the decoding steps' interface) return tensors."""
        if attention_mask is None and token_ids.dim() == 2:
            attention_mask = masks.padding_mask(token_ids, self.config.pad_token_id)
        enc = self.encode(token_ids, attention_mask)
        h = self.decoder_hidden(
            decoder_ids,
            enc,
            encoder_mask=attention_mask,
            attention_mask=decoder_attention_mask,
            cache=cache,
        )
        return ModelOutput(hidden=h, logits=self._lm(h) if self.lm_head is not None else None)

    def _lm(self, h: torch.Tensor) -> torch.Tensor:
        if self.config.scale_decoder_outputs:
            h = h * self.config.hidden_size**-0.5
        return self.lm_head(h)
