"""The BERT family: BERT / RoBERTa-zh, RoFormer (rotary) and NEZHA (relative positions).

One post-LN encoder whose attention takes a pluggable position strategy:

* ``bert``: learned absolute positions added to the embeddings;
* ``roformer``: rotary positions on q and k (https://kexue.fm/archives/8265);
* ``nezha``: functional relative positions on keys and values (arXiv 1909.00204).

Layer ``n``: ``h = LN(x + Attn(x))``, ``y = LN(h + FFN(h))``. Applications: ``encoder``
(bidirectional), ``lm`` (causal) and ``unilm`` (seq2seq mask from segment ids,
https://kexue.fm/archives/6933); the last two always fill ``logits`` (the MLM head) and honour
the KV cache.
"""

from __future__ import annotations

import torch
from torch import nn

from kexue.layers.attention import MultiHeadAttention
from kexue.layers.embeddings import Embeddings
from kexue.layers.feedforward import FeedForward
from kexue.layers.heads import MLMHead, NSPHead, Pooler
from kexue.layers.normalization import LayerNorm
from kexue.layers.positions import NezhaRelativePosition, RotaryPosition
from kexue.models import masks
from kexue.models.cache import KVCache
from kexue.models.config import BertConfig, NezhaConfig, RoFormerConfig
from kexue.models.outputs import ModelOutput
from kexue.models.pretrained import SavesPretrained

__all__ = ["Bert", "BertLayer", "APPLICATIONS"]

APPLICATIONS = ("encoder", "lm", "unilm")


class BertLayer(nn.Module):
    """One post-LN Transformer layer: attention, add & norm, feed-forward, add & norm."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        c = config
        cond = c.cond_norm_kwargs
        self.attn = MultiHeadAttention(
            c.hidden_size,
            c.num_attention_heads,
            c.head_size,
            dropout=c.attention_probs_dropout_prob,
            rotary_value=getattr(c, "rotary_value", False),
        )
        self.attn_norm = LayerNorm(c.hidden_size, c.layer_norm_eps, **cond)
        self.ffn = FeedForward(c.hidden_size, c.intermediate_size, c.hidden_act)
        self.ffn_norm = LayerNorm(c.hidden_size, c.layer_norm_eps, **cond)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(
        self,
        x: torch.Tensor,
        bias: torch.Tensor | None,
        *,
        rotary=None,
        relative=None,
        prev_scores: torch.Tensor | None = None,
        return_scores: bool = False,
        cache: KVCache | None = None,
        layer: int = 0,
        cond: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        a, scores = self.attn(
            x,
            bias,
            rotary=rotary,
            relative=relative,
            prev_scores=prev_scores,
            return_scores=return_scores,
            cache=cache,
            layer=layer,
        )
        x = self.attn_norm(x + self.dropout(a), cond)
        x = self.ffn_norm(x + self.dropout(self.ffn(x)), cond)
        return x, scores


class Bert(SavesPretrained, nn.Module):
    """A BERT-family encoder with optional heads.

    Args:
        config: a :class:`BertConfig` (or RoFormer / NEZHA subclass).
        application: ``"encoder"``, ``"lm"`` or ``"unilm"``.

    ``forward(token_ids, segment_ids=None, *, attention_mask=None, position_ids=None,
    cache=None, condition=None)`` returns a :class:`~kexue.models.outputs.ModelOutput` for
    every application and head: ``hidden`` ``(batch, length, hidden)`` always, ``pooled``
    (``with_pool``), ``nsp_logits`` (``with_nsp``) and ``logits`` ``(batch, length, vocab)``
    from the MLM head (``with_mlm``, and always for ``lm``/``unilm``). ``logits_to_keep=k``
    (``k > 0``) runs the MLM head on the last ``k`` positions only, so ``logits`` is
    ``(batch, k, vocab)``: a seq2seq loss needs the target positions only, and the head (a
    ``hidden x vocab`` product and its softmax) costs as much as the encoder in a small model.

    Without ``attention_mask`` (and without a cache), padding is masked automatically: keys
    whose token id is ``config.pad_token_id`` (0 in BERT vocabularies) are never attended
    to, as in bert4keras. An explicit ``attention_mask`` always wins.
    """

    def __init__(self, config: BertConfig, application: str = "encoder") -> None:
        super().__init__()
        if application not in APPLICATIONS:
            raise ValueError(f"application must be one of {APPLICATIONS}, got {application!r}")
        self.config = config
        self.application = application
        c = config
        if isinstance(c, RoFormerConfig):
            self.position_mode = "rotary"
        elif isinstance(c, NezhaConfig):
            self.position_mode = "relative"
        else:
            self.position_mode = "absolute"
        cond = c.cond_norm_kwargs
        self.embeddings = Embeddings(
            c.vocab_size,
            c.embedding_size,
            c.hidden_size,
            max_position=c.max_position_embeddings if self.position_mode == "absolute" else 0,
            type_vocab_size=c.type_vocab_size,
            eps=c.layer_norm_eps,
            hierarchical_position=c.hierarchical_position,
            dropout=c.hidden_dropout_prob,
            **cond,
        )
        if c.hierarchical_position and self.position_mode != "absolute":
            raise ValueError("hierarchical_position needs absolute position embeddings (bert)")
        self.rotary = (
            RotaryPosition(c.head_size, c.max_position_embeddings)
            if self.position_mode == "rotary"
            else None
        )
        self.relative = (
            NezhaRelativePosition(c.head_size, c.max_relative_position)
            if self.position_mode == "relative"
            else None
        )
        self.layers = nn.ModuleList(BertLayer(c) for _ in range(c.num_hidden_layers))
        with_mlm = c.with_mlm or application in ("lm", "unilm")
        self.pooler = (
            Pooler(c.hidden_size, "linear" if c.with_pool == "linear" else "tanh")
            if c.with_pool
            else None
        )
        self.nsp = NSPHead(c.hidden_size) if c.with_nsp else None
        self.mlm = (
            MLMHead(
                c.hidden_size,
                c.embedding_size,
                c.vocab_size,
                c.hidden_act,
                c.layer_norm_eps,
                **cond,
            )
            if with_mlm
            else None
        )

    @property
    def vocab_size(self) -> int:
        return self.embeddings.token.num_embeddings

    def new_cache(self) -> KVCache:
        """An empty :class:`KVCache` for incremental ``lm`` / ``unilm`` decoding."""
        return KVCache(len(self.layers))

    def forward(
        self,
        token_ids: torch.Tensor,
        segment_ids: torch.Tensor | None = None,
        *,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        cache: KVCache | None = None,
        condition: torch.Tensor | None = None,
        logits_to_keep: int = 0,
    ):
        if token_ids.dim() != 2:
            raise ValueError(f"token_ids must be (batch, length), got {tuple(token_ids.shape)}")
        b, n = token_ids.shape
        device = token_ids.device
        past = cache.length if cache is not None else 0
        k_len = past + n
        if segment_ids is not None and segment_ids.shape != token_ids.shape:
            raise ValueError(
                f"segment_ids shape {tuple(segment_ids.shape)} != "
                f"token_ids {tuple(token_ids.shape)}"
            )
        if position_ids is None:
            position_ids = torch.arange(past, k_len, device=device).expand(b, n)
        elif position_ids.shape != token_ids.shape:
            raise ValueError(
                f"position_ids shape {tuple(position_ids.shape)} != "
                f"token_ids {tuple(token_ids.shape)}"
            )

        x = self.embeddings(token_ids, segment_ids, position_ids, condition)
        dtype = x.dtype

        if attention_mask is None and cache is None:
            attention_mask = masks.padding_mask(token_ids, self.config.pad_token_id)
        allowed = None
        if attention_mask is not None:
            allowed = masks.key_padding(attention_mask, k_len)
            if self.application == "encoder" and bool(allowed.all()):
                allowed = None  # nothing to mask: let SDPA take its unmasked fast path
        if self.application == "lm":
            c = masks.causal(n, k_len, device)
            allowed = c if allowed is None else allowed & c
        elif self.application == "unilm":
            seg = segment_ids if segment_ids is not None else torch.zeros_like(token_ids)
            start = None
            if cache is not None and past:
                start = cache.state["unilm_index"][:, -1:]
            q_index = masks.unilm_index(seg, start)
            k_index = q_index
            if cache is not None:
                if past:
                    k_index = torch.cat([cache.state["unilm_index"], q_index], dim=1)
                cache.state["unilm_index"] = k_index
            u = masks.unilm(q_index, k_index)
            allowed = u if allowed is None else allowed & u
        bias = masks.to_bias(allowed, dtype) if allowed is not None else None

        rotary = relative = None
        if self.rotary is not None:
            rotary = self.rotary(position_ids, dtype)
        if self.relative is not None:
            k_pos = position_ids
            if cache is not None:
                if past:
                    k_pos = torch.cat([cache.state["positions"], position_ids], dim=1)
                cache.state["positions"] = k_pos
            r = self.relative(position_ids, k_pos, dtype)
            relative = (r, r)

        residual = self.config.residual_attention_scores
        scores = None
        for i, layer in enumerate(self.layers):
            x, scores = layer(
                x,
                bias,
                rotary=rotary,
                relative=relative,
                prev_scores=scores,
                return_scores=residual,
                cache=cache,
                layer=i,
                cond=condition,
            )

        pooled = self.pooler(x) if self.pooler is not None else None
        if not 0 <= logits_to_keep <= n:
            raise ValueError(f"logits_to_keep must be in 0..{n} (the length), got {logits_to_keep}")
        return ModelOutput(
            hidden=x,
            pooled=pooled,
            nsp_logits=self.nsp(pooled) if self.nsp is not None else None,
            logits=(
                self.mlm(x[:, n - logits_to_keep :] if logits_to_keep else x,
                         self.embeddings.token.weight, condition)
                if self.mlm is not None
                else None
            ),
        )
