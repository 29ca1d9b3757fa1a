"""Explicit per-family key maps from HuggingFace-format checkpoints to kexue modules.

Each function returns a :class:`~kexue.models.loading.KeyMap`: ``kexue key <- source key
(+ transform)``, the family's known keys this build does not use, the fixed buffers to verify
and the kexue keys that may be freshly initialised. Keep them boring: one line per key.

``keys`` is the checkpoint's key list when loading; ``None`` asks for the layout kexue
*writes* (``save_pretrained`` runs the same rules backwards), e.g. with the ``bert.`` prefix
HF's ``BertForPreTraining`` uses.
"""

from __future__ import annotations

import re

import torch

from kexue.layers.positions import (
    nezha_relative_table,
    roformer_sinusoid_table,
)
from kexue.models.loading import Chunk, KeyMap, Rule, Transform, Transpose

__all__ = ["bert_key_map", "gpt2_key_map", "gpt2_ml_key_map", "t5_key_map"]


def _prefix(keys: list[str] | None, candidate: str) -> str:
    if keys is None:
        return candidate
    return candidate if any(k.startswith(candidate) for k in keys) else ""


def _prefix_tf(keys: list[str], default: str) -> str:
    """The scope of a TF BERT-style checkpoint (``bert`` in ``bert/embeddings/...``)."""
    for k in keys:
        if k.endswith("/embeddings/word_embeddings"):
            return k[: -len("/embeddings/word_embeddings")]
    return default


def _equal_to(expected: torch.Tensor, what: str, atol: float = 1e-5):
    def check(t: torch.Tensor) -> str | None:
        if tuple(t.shape) != tuple(expected.shape):
            return f"shape {tuple(t.shape)} != {what} {tuple(expected.shape)}"
        diff = (t.double() - expected.double()).abs().max().item() if t.numel() else 0.0
        return None if diff <= atol else f"differs from {what} by {diff:.3g}"

    return check


def _fresh_cond(model) -> dict[str, str]:
    return {
        name: "Conditional LayerNorm dense layer (zero-initialised)"
        for name in model.state_dict()
        if ".cond_" in name or name.startswith("cond_")
    }


def cond_rules(km: KeyMap, mine: str, theirs: str, sep: str = ".") -> None:
    """Conditional LayerNorm's dense layers of the norm ``mine`` stored beside the norm's
    own weights (``theirs``), kexue's naming (``gamma_dense`` etc. in no release); they stay
    ``fresh`` (zero) when a plain checkpoint lacks them."""
    for part in ("cond_scale", "cond_offset", "cond_proj"):
        km.rules[f"{mine}.{part}.weight"] = Rule(f"{theirs}{sep}{part}{sep}weight", ops=_T(sep))


def _T(sep: str) -> tuple:
    return (Transpose(),) if sep == "/" else ()


def bert_key_map(model, keys: list[str], vocab: Transform | None) -> KeyMap:
    """BERT / RoBERTa-zh, RoFormer and NEZHA in HF layout (``BertModel``,
    ``BertForMaskedLM``, ``BertForPreTraining``, ``RoFormerModel``, ``NezhaModel``, ...)."""
    family = model.config.FAMILY
    p = _prefix(keys, f"{family}.")
    keys = [] if keys is None else keys
    km = KeyMap(fresh=_fresh_cond(model))
    r = km.rules
    e = p + "embeddings."
    r["embeddings.token.weight"] = Rule(e + "word_embeddings.weight", vocab)
    r["embeddings.position.weight"] = Rule(e + "position_embeddings.weight")
    r["embeddings.segment.weight"] = Rule(e + "token_type_embeddings.weight")
    r["embeddings.norm.weight"] = Rule(e + "LayerNorm.weight")
    r["embeddings.norm.bias"] = Rule(e + "LayerNorm.bias")
    for w in ("weight", "bias"):
        r[f"embeddings.project.{w}"] = Rule(f"{p}embeddings_project.{w}")
    for i in range(len(model.layers)):
        s, d = f"{p}encoder.layer.{i}.", f"layers.{i}."
        for w in ("weight", "bias"):
            r[f"{d}attn.q.{w}"] = Rule(f"{s}attention.self.query.{w}")
            r[f"{d}attn.k.{w}"] = Rule(f"{s}attention.self.key.{w}")
            r[f"{d}attn.v.{w}"] = Rule(f"{s}attention.self.value.{w}")
            r[f"{d}attn.o.{w}"] = Rule(f"{s}attention.output.dense.{w}")
            r[f"{d}attn_norm.{w}"] = Rule(f"{s}attention.output.LayerNorm.{w}")
            r[f"{d}ffn.fc1.{w}"] = Rule(f"{s}intermediate.dense.{w}")
            r[f"{d}ffn.fc2.{w}"] = Rule(f"{s}output.dense.{w}")
            r[f"{d}ffn_norm.{w}"] = Rule(f"{s}output.LayerNorm.{w}")
        cond_rules(km, f"{d}attn_norm", f"{s}attention.output.LayerNorm")
        cond_rules(km, f"{d}ffn_norm", f"{s}output.LayerNorm")
    cond_rules(km, "embeddings.norm", e + "LayerNorm")
    cond_rules(km, "mlm.norm", "cls.predictions.transform.LayerNorm")
    heads = {
        "pooler.dense": f"{p}pooler.dense",
        "nsp.dense": "cls.seq_relationship",
        "mlm.dense": "cls.predictions.transform.dense",
        "mlm.norm": "cls.predictions.transform.LayerNorm",
    }
    for mine, theirs in heads.items():
        for w in ("weight", "bias"):
            r[f"{mine}.{w}"] = Rule(f"{theirs}.{w}")
            km.unused[f"{theirs}.{w}"] = f"head not built ({mine.split('.')[0]})"
    r["mlm.bias"] = Rule("cls.predictions.bias", vocab)
    km.unused["cls.predictions.bias"] = "head not built (mlm)"
    # Tied / fixed tensors some writers store: verify, never load.
    word = e + "word_embeddings.weight"
    if word in keys and "cls.predictions.decoder.weight" in keys:
        # compared lazily against the checkpoint's own embedding
        km.verify["cls.predictions.decoder.weight"] = _TiedTo(word)
    if "cls.predictions.decoder.bias" in keys:
        km.verify["cls.predictions.decoder.bias"] = _TiedTo("cls.predictions.bias")
    for k in keys:
        if k.endswith("embeddings.position_ids"):
            km.verify[k] = _arange_check
    c = model.config
    if family == "roformer":
        table = roformer_sinusoid_table(c.max_position_embeddings, c.head_size)
        km.verify[f"{p}encoder.embed_positions.weight"] = _equal_to(table, "the rotary table")
    if family == "nezha":
        rel = nezha_relative_table(c.max_relative_position, c.head_size)
        for k in keys:
            if re.search(r"relative_positions_encoding\.positions_encoding$", k):
                km.verify[k] = _nezha_buffer_check(rel, c.max_relative_position)
    return km


class _TiedTo:
    """A verify hook comparing against another checkpoint tensor (bound at load time)."""

    def __init__(self, other: str) -> None:
        self.other = other
        self.tensors: dict[str, torch.Tensor] | None = None

    def __call__(self, t: torch.Tensor) -> str | None:
        if self.tensors is None or self.other not in self.tensors:
            return f"tied copy of {self.other}, which is absent"
        return _equal_to(self.tensors.get(self.other), self.other, atol=0.0)(t)


def _arange_check(t: torch.Tensor) -> str | None:
    flat = t.reshape(-1)
    ok = torch.equal(flat.long(), torch.arange(flat.numel()))
    return None if ok else "position_ids buffer is not 0..n-1"


def _nezha_buffer_check(table: torch.Tensor, k: int):
    def check(t: torch.Tensor) -> str | None:
        if t.dim() != 3 or t.shape[0] != t.shape[1] or t.shape[2] != table.shape[1]:
            return f"expected (L, L, {table.shape[1]}), got {tuple(t.shape)}"
        n = t.shape[0]
        pos = torch.arange(n)
        rel = (pos[None, :] - pos[:, None]).clamp(-k, k) + k
        return _equal_to(table[rel], "the NEZHA relative table", atol=1e-4)(t)

    return check


def gpt2_key_map(model, keys: list[str], vocab: Transform | None) -> KeyMap:
    """OpenAI GPT-2 in HF layout (``GPT2Model`` / ``GPT2LMHeadModel``): ``Conv1D`` weights are
    stored ``[in, out]``, so they are transposed; ``c_attn`` is split into q, k, v."""
    p = _prefix(keys, "transformer.")
    keys = [] if keys is None else keys
    km = KeyMap()
    r = km.rules
    r["token.weight"] = Rule(p + "wte.weight", vocab)
    r["position.weight"] = Rule(p + "wpe.weight")
    r["final_norm.weight"] = Rule(p + "ln_f.weight")
    r["final_norm.bias"] = Rule(p + "ln_f.bias")

    T = (Transpose(),)
    for i in range(len(model.layers)):
        s, d = f"{p}h.{i}.", f"layers.{i}."
        for j, name in enumerate("qkv"):
            r[f"{d}attn.{name}.weight"] = Rule(
                f"{s}attn.c_attn.weight", ops=(Chunk(1, j, 3), Transpose())
            )
            r[f"{d}attn.{name}.bias"] = Rule(f"{s}attn.c_attn.bias", ops=(Chunk(0, j, 3),))
        r[f"{d}attn.o.weight"] = Rule(f"{s}attn.c_proj.weight", ops=T)
        r[f"{d}attn.o.bias"] = Rule(f"{s}attn.c_proj.bias")
        r[f"{d}ffn.fc1.weight"] = Rule(f"{s}mlp.c_fc.weight", ops=T)
        r[f"{d}ffn.fc1.bias"] = Rule(f"{s}mlp.c_fc.bias")
        r[f"{d}ffn.fc2.weight"] = Rule(f"{s}mlp.c_proj.weight", ops=T)
        r[f"{d}ffn.fc2.bias"] = Rule(f"{s}mlp.c_proj.bias")
        for w in ("weight", "bias"):
            r[f"{d}attn_norm.{w}"] = Rule(f"{s}ln_1.{w}")
            r[f"{d}ffn_norm.{w}"] = Rule(f"{s}ln_2.{w}")
        if f"{s}attn.bias" in keys:  # old checkpoints store the causal mask as a buffer
            km.verify[f"{s}attn.bias"] = _tril_check
        if f"{s}attn.masked_bias" in keys:
            km.unused[f"{s}attn.masked_bias"] = "the masking constant of old HF code"
    if "lm_head.weight" in keys:
        km.verify["lm_head.weight"] = _TiedTo(p + "wte.weight")
    return km


def _tril_check(t: torch.Tensor) -> str | None:
    m = t.reshape(t.shape[-2], t.shape[-1]).bool()
    return None if torch.equal(m, torch.ones_like(m).tril()) else "not a causal (tril) mask"


def gpt2_ml_key_map(model, keys: list[str], vocab: Transform | None) -> KeyMap:
    """GPT2_ML in the kexue-native layout (``nn.Linear`` weights ``[out, in]``)."""
    keys = [] if keys is None else keys
    km = KeyMap()
    r = km.rules
    r["token.weight"] = Rule("wte.weight", vocab)
    r["position.weight"] = Rule("wpe.weight")
    for w in ("weight", "bias"):
        r[f"emb_norm.{w}"] = Rule(f"emb_ln.{w}")
        for i in range(len(model.layers)):
            s, d = f"h.{i}.", f"layers.{i}."
            for name in "qkvo":
                r[f"{d}attn.{name}.{w}"] = Rule(f"{s}attn.{name}.{w}")
            r[f"{d}ffn_in_norm.{w}"] = Rule(f"{s}ln0.{w}")
            r[f"{d}ffn.fc1.{w}"] = Rule(f"{s}mlp.fc1.{w}")
            r[f"{d}ffn.fc2.{w}"] = Rule(f"{s}mlp.fc2.{w}")
            r[f"{d}ffn_norm.{w}"] = Rule(f"{s}ln1.{w}")
    if "lm_head.weight" in keys:
        km.verify["lm_head.weight"] = _TiedTo("wte.weight")
    return km


def t5_key_map(model, keys: list[str], vocab: Transform | None) -> KeyMap:
    """T5 / T5.1.1 / mT5 in HF layout (``T5Model``, ``T5ForConditionalGeneration``)."""
    c = model.config
    saving = keys is None
    keys = [] if keys is None else keys
    km = KeyMap()
    r = km.rules
    r["shared.weight"] = Rule("shared.weight", vocab)
    for stack in ("encoder", "decoder"):
        if f"{stack}.embed_tokens.weight" in keys:
            km.verify[f"{stack}.embed_tokens.weight"] = _TiedTo("shared.weight")
        r[f"{stack}.final_norm.weight"] = Rule(f"{stack}.final_layer_norm.weight")
        r[f"{stack}.rel_bias.weight"] = Rule(
            f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
        )
        layers = getattr(model, stack).layers
        for i in range(len(layers)):
            s, d = f"{stack}.block.{i}.layer.", f"{stack}.layers.{i}."
            for name in "qkvo":
                r[f"{d}attn.{name}.weight"] = Rule(f"{s}0.SelfAttention.{name}.weight")
            r[f"{d}attn_norm.weight"] = Rule(f"{s}0.layer_norm.weight")
            f = 1
            if stack == "decoder":
                for name in "qkvo":
                    r[f"{d}cross.{name}.weight"] = Rule(f"{s}1.EncDecAttention.{name}.weight")
                r[f"{d}cross_norm.weight"] = Rule(f"{s}1.layer_norm.weight")
                f = 2
            if c.gated:
                r[f"{d}ffn.fc1.weight"] = Rule(f"{s}{f}.DenseReluDense.wi_0.weight")
                r[f"{d}ffn.gate.weight"] = Rule(f"{s}{f}.DenseReluDense.wi_1.weight")
            else:
                r[f"{d}ffn.fc1.weight"] = Rule(f"{s}{f}.DenseReluDense.wi.weight")
            r[f"{d}ffn.fc2.weight"] = Rule(f"{s}{f}.DenseReluDense.wo.weight")
            r[f"{d}ffn_norm.weight"] = Rule(f"{s}{f}.layer_norm.weight")
    # A stored head wins (untied T5.1.1 / mT5, and the tied copy transformers 4 writes into
    # .bin files); without one, a tied model's head is the shared embedding. An absent
    # ``tie_word_embeddings`` means tied, as in transformers. kexue writes the head it has.
    # An untied head the checkpoint lacks (a T5Model) is a head built fresh.
    if "lm_head.weight" in keys or saving or not c.tie_word_embeddings:
        r["lm_head.weight"] = Rule("lm_head.weight", vocab)
        km.unused["lm_head.weight"] = "LM head not built (with_lm=False)"
    else:
        r["lm_head.weight"] = Rule("shared.weight", vocab)
    return km
