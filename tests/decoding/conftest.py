"""Test utilities for kexue.decoding: models that speak the model contract of docs/design.md.

- ``HFCausalLM`` / ``HFSeq2Seq`` wrap transformers' GPT-2 / T5 so the decoder can drive the very
  weights that ``generate()`` uses (parity of the search itself);
- ``ToyTransformer`` is a small self-contained BERT-like encoder with a KV cache and both the
  ``lm`` (causal) and ``unilm`` masks (bert4keras rule: with ``idx = cumsum(segment_ids)`` query
  i sees key j iff ``idx[j] <= idx[i]``), so UniLM decoding can be checked against a brute-force
  reference that re-runs the full model on each growing sequence.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn


class HFCache:
    """``KVCache``-like view of a transformers cache (``length``, ``reorder``)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    @property
    def length(self) -> int:
        return self.inner.get_seq_length()

    def reorder(self, index: torch.Tensor) -> None:
        self.inner.reorder_cache(index)


class HFCausalLM(nn.Module):
    """transformers ``GPT2LMHeadModel`` under the kexue causal-LM contract."""

    application = "lm"

    def __init__(self, hf) -> None:
        super().__init__()
        self.hf = hf
        self.max_positions = hf.config.n_positions
        self.calls: list[int] = []  # new_len of every forward call (checks one-token steps)

    def new_cache(self) -> HFCache:
        from transformers import DynamicCache

        return HFCache(DynamicCache())

    def forward(self, token_ids, segment_ids=None, *, attention_mask=None, position_ids=None,
                cache=None):  # fmt: skip
        self.calls.append(token_ids.shape[1])
        out = self.hf(
            input_ids=token_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=cache.inner if cache is not None else None,
            use_cache=cache is not None,
        )
        return out.logits


class HFSeq2Seq(nn.Module):
    """transformers ``T5ForConditionalGeneration`` under the kexue encoder-decoder contract."""

    def __init__(self, hf) -> None:
        super().__init__()
        self.hf = hf
        self.calls: list[int] = []

    def new_cache(self) -> HFCache:
        from transformers import DynamicCache, EncoderDecoderCache

        return HFCache(EncoderDecoderCache(DynamicCache(), DynamicCache()))

    def encode(self, token_ids, attention_mask=None):
        return self.hf.encoder(input_ids=token_ids, attention_mask=attention_mask).last_hidden_state

    def decode(self, decoder_ids, encoder_hidden, *, encoder_mask=None, cache=None):
        from transformers.modeling_outputs import BaseModelOutput

        self.calls.append(decoder_ids.shape[1])
        out = self.hf(
            encoder_outputs=BaseModelOutput(last_hidden_state=encoder_hidden),
            attention_mask=encoder_mask,
            decoder_input_ids=decoder_ids,
            past_key_values=cache.inner if cache is not None else None,
            use_cache=cache is not None,
        )
        return out.logits


class ToyCache:
    def __init__(self, n_layers: int) -> None:
        self.keys: list[torch.Tensor | None] = [None] * n_layers
        self.values: list[torch.Tensor | None] = [None] * n_layers
        self.key_mask: torch.Tensor | None = None
        self.key_seg: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return 0 if self.key_mask is None else self.key_mask.shape[1]

    def reorder(self, index: torch.Tensor) -> None:
        self.keys = [k.index_select(0, index) for k in self.keys]
        self.values = [v.index_select(0, index) for v in self.values]
        self.key_mask = self.key_mask.index_select(0, index)
        self.key_seg = self.key_seg.index_select(0, index)


class ToyTransformer(nn.Module):
    """Post-LN BERT-like encoder + LM head with ``application`` ``"lm"`` or ``"unilm"``."""

    def __init__(self, vocab=29, hidden=32, layers=2, heads=4, max_positions=40,
                 application="unilm", seed=0):  # fmt: skip
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.application = application
        self.max_positions = max_positions
        self.heads = heads
        self.tok = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(max_positions, hidden)
        self.seg = nn.Embedding(2, hidden)
        self.ln0 = nn.LayerNorm(hidden)
        self.qkv = nn.ModuleList(nn.Linear(hidden, 3 * hidden) for _ in range(layers))
        self.out = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers))
        self.ln1 = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.ff = nn.ModuleList(
            nn.Sequential(nn.Linear(hidden, 2 * hidden), nn.GELU(), nn.Linear(2 * hidden, hidden))
            for _ in range(layers)
        )
        self.ln2 = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.head = nn.Linear(hidden, vocab)
        with torch.no_grad():
            for p in self.parameters():
                if p.dim() > 1:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.3)

    def new_cache(self) -> ToyCache:
        return ToyCache(len(self.qkv))

    def forward(self, token_ids, segment_ids=None, *, attention_mask=None, position_ids=None,
                cache=None):  # fmt: skip
        b, t = token_ids.shape
        past = cache.length if cache is not None else 0
        if segment_ids is None:
            segment_ids = torch.zeros_like(token_ids)
        if attention_mask is None:
            attention_mask = torch.ones(b, past + t, dtype=torch.long)
        if position_ids is None:
            position_ids = (past + torch.arange(t)).expand(b, t)
        x = self.ln0(self.tok(token_ids) + self.pos(position_ids) + self.seg(segment_ids))
        key_seg = segment_ids if cache is None or past == 0 else torch.cat(
            [cache.key_seg, segment_ids], dim=1
        )
        key_mask = attention_mask.bool()
        q_idx = past + torch.arange(t)
        k_idx = torch.arange(past + t)
        causal = k_idx[None, :] <= q_idx[:, None]  # (t, S)
        if self.application == "unilm":
            visible = causal[None] | (key_seg[:, None, :] == 0)
        else:
            visible = causal[None].expand(b, -1, -1)
        allowed = (visible & key_mask[:, None, :])[:, None]  # (b, 1, t, S)
        if cache is not None:
            cache.key_mask = key_mask
            cache.key_seg = key_seg
        hd = x.shape[-1] // self.heads
        for i in range(len(self.qkv)):
            q, k, v = self.qkv[i](x).view(b, t, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
            if cache is not None:
                if cache.keys[i] is not None:
                    k = torch.cat([cache.keys[i], k], dim=2)
                    v = torch.cat([cache.values[i], v], dim=2)
                cache.keys[i], cache.values[i] = k, v
            att = (q @ k.transpose(-1, -2)) / hd**0.5
            att = att.masked_fill(~allowed, -1e4).softmax(-1)
            h = (att @ v).transpose(1, 2).reshape(b, t, -1)
            x = self.ln1[i](x + self.out[i](h))
            x = self.ln2[i](x + self.ff[i](x))
        return self.head(x)


def tiny_gpt2(seed: int = 0, vocab: int = 23, eos: int = 2):
    """A tiny random GPT-2 in float64 (so batch composition cannot flip near-tied beams)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    cfg = GPT2Config(
        vocab_size=vocab, n_positions=48, n_embd=32, n_layer=2, n_head=4, n_inner=64,
        bos_token_id=eos, eos_token_id=eos, pad_token_id=1, initializer_range=0.3,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    )  # fmt: skip
    return GPT2LMHeadModel(cfg).eval().to(torch.float64)


def tiny_t5(seed: int = 0, vocab: int = 23):
    """A tiny random T5 (v1.0 layout) in float64."""
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(seed)
    cfg = T5Config(
        vocab_size=vocab, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
        num_heads=4, relative_attention_num_buckets=8, relative_attention_max_distance=20,
        dropout_rate=0.0, initializer_factor=2.0, pad_token_id=0, eos_token_id=1,
        decoder_start_token_id=0, feed_forward_proj="relu", tie_word_embeddings=False,
    )  # fmt: skip
    return T5ForConditionalGeneration(cfg).eval().to(torch.float64)


@pytest.fixture(scope="session")
def gpt2_hf():
    return tiny_gpt2()


@pytest.fixture(scope="session")
def t5_hf():
    return tiny_t5()


@pytest.fixture
def gpt2_lm(gpt2_hf):
    return HFCausalLM(gpt2_hf)


@pytest.fixture
def t5_lm(t5_hf):
    return HFSeq2Seq(t5_hf)


@pytest.fixture(scope="session")
def kit():
    """The test utilities of this module (conftest modules are not importable by name)."""
    return SimpleNamespace(
        HFCausalLM=HFCausalLM, HFSeq2Seq=HFSeq2Seq, ToyTransformer=ToyTransformer,
        tiny_gpt2=tiny_gpt2, tiny_t5=tiny_t5,
    )  # fmt: skip
