"""Key maps from the TensorFlow releases' variable names to kexue modules.

The names are those of the released checkpoints (Google BERT and everything built on its
code: RoBERTa-wwm, NEZHA, RoFormer, RoFormer-Sim, WoBERT, SimBERT; OpenAI's GPT-2 release;
GPT2_ML; Mesh-TensorFlow T5.1.1 / mT5 / T5 PEGASUS), as bert4keras's ``variable_mapping()``
lists them. TF dense kernels are ``[in, out]`` and are transposed to torch's ``[out, in]``.

Optimizer slots and bookkeeping of a training checkpoint (``*/adam_m``, ``*/adam_v``,
``global_step``, Adafactor's ``*_slot_*``, ...) are skipped by name, as bert4keras does; any
other variable the map does not place is an error.
"""

from __future__ import annotations

import re

from kexue.models.keymaps import _prefix_tf
from kexue.models.loading import Chunk, KeyMap, Rule, Squeeze, Transform, Transpose

__all__ = ["bert_tf_key_map", "gpt2_tf_key_map", "gpt2_ml_tf_key_map", "t5_tf_key_map", "SLOTS"]

#: Training-only variables, skipped by name.
SLOTS = (
    re.compile(
        r"(/adam_[mv]$|/Adam(_\d+)?$|/lamb_[mv]$|/Momentum$|/RMSProp(_\d+)?$|/Adagrad$"
        r"|_slot_[a-z]+$|/accumulator$|^global_step$|^bad_steps$|^good_steps$"
        r"|^loss_scale$|^current_loss_scale$)"
    ),
    "optimizer slot or training bookkeeping",
)
T = (Transpose(),)


def _dense(km: KeyMap, mine: str, theirs: str, bias: bool = True) -> None:
    km.rules[f"{mine}.weight"] = Rule(f"{theirs}/kernel", ops=T)
    if bias:
        km.rules[f"{mine}.bias"] = Rule(f"{theirs}/bias")


def _norm(km: KeyMap, mine: str, theirs: str) -> None:
    km.rules[f"{mine}.weight"] = Rule(f"{theirs}/gamma")
    km.rules[f"{mine}.bias"] = Rule(f"{theirs}/beta")


def bert_tf_key_map(model, keys: list[str] | None, vocab: Transform | None) -> KeyMap:
    """Google BERT naming (``bert/encoder/layer_0/attention/self/query/kernel``, ``cls/...``
    heads, the NSP head ``cls/seq_relationship``), shared by BERT, RoBERTa-wwm, WoBERT,
    SimBERT, NEZHA, RoFormer and RoFormer-Sim (their pooler is ``bert/pooler/dense``)."""
    keys = keys or []
    p = _prefix_tf(keys, "bert")
    family = model.config.FAMILY
    km = KeyMap(ignore=SLOTS)
    r = km.rules
    e = f"{p}/embeddings/"
    r["embeddings.token.weight"] = Rule(e + "word_embeddings", vocab)
    r["embeddings.position.weight"] = Rule(e + "position_embeddings")
    r["embeddings.segment.weight"] = Rule(e + "token_type_embeddings")
    _norm(km, "embeddings.norm", e + "LayerNorm")
    _dense(km, "embeddings.project", f"{p}/encoder/embedding_hidden_mapping_in")
    if family != "bert":
        km.unused[e + "position_embeddings"] = (
            f"absolute position table, unused by {family}'s positions"
        )
    for i in range(len(model.layers)):
        s, d = f"{p}/encoder/layer_{i}/", f"layers.{i}."
        _dense(km, f"{d}attn.q", s + "attention/self/query")
        _dense(km, f"{d}attn.k", s + "attention/self/key")
        _dense(km, f"{d}attn.v", s + "attention/self/value")
        _dense(km, f"{d}attn.o", s + "attention/output/dense")
        _norm(km, f"{d}attn_norm", s + "attention/output/LayerNorm")
        _dense(km, f"{d}ffn.fc1", s + "intermediate/dense")
        _dense(km, f"{d}ffn.fc2", s + "output/dense")
        _norm(km, f"{d}ffn_norm", s + "output/LayerNorm")
    _dense(km, "pooler.dense", f"{p}/pooler/dense")
    _dense(km, "mlm.dense", "cls/predictions/transform/dense")
    _norm(km, "mlm.norm", "cls/predictions/transform/LayerNorm")
    r["mlm.bias"] = Rule("cls/predictions/output_bias", vocab)
    # the NSP weight is stored [2, hidden], already torch's layout
    r["nsp.dense.weight"] = Rule("cls/seq_relationship/output_weights")
    r["nsp.dense.bias"] = Rule("cls/seq_relationship/output_bias")
    heads = {"pooler": f"{p}/pooler/", "mlm": "cls/predictions/", "nsp": "cls/seq_relationship/"}
    for head, start in heads.items():
        for rule in list(r.values()):
            if rule.source.startswith(start):
                km.unused[rule.source] = f"head not built ({head})"
    for name in model.state_dict():
        if ".cond_" in name:
            km.fresh[name] = "Conditional LayerNorm dense layer (zero-initialised)"
    return km


def gpt2_tf_key_map(model, keys: list[str] | None, vocab: Transform | None) -> KeyMap:
    """OpenAI's GPT-2 TF release: ``model/h0/attn/c_attn/w`` (``[1, in, 3*out]`` conv1d
    weights with a leading 1, q/k/v fused), ``model/wte``, ``model/wpe``, ``model/ln_f``."""
    km = KeyMap(ignore=SLOTS)
    r = km.rules
    r["token.weight"] = Rule("model/wte", vocab)
    r["position.weight"] = Rule("model/wpe")
    r["final_norm.weight"] = Rule("model/ln_f/g")
    r["final_norm.bias"] = Rule("model/ln_f/b")
    conv = (Squeeze(), Transpose())
    for i in range(len(model.layers)):
        s, d = f"model/h{i}/", f"layers.{i}."
        for j, name in enumerate("qkv"):
            r[f"{d}attn.{name}.weight"] = Rule(
                s + "attn/c_attn/w", ops=(Squeeze(), Chunk(1, j, 3), Transpose())
            )
            r[f"{d}attn.{name}.bias"] = Rule(s + "attn/c_attn/b", ops=(Chunk(0, j, 3),))
        r[f"{d}attn.o.weight"] = Rule(s + "attn/c_proj/w", ops=conv)
        r[f"{d}attn.o.bias"] = Rule(s + "attn/c_proj/b")
        r[f"{d}ffn.fc1.weight"] = Rule(s + "mlp/c_fc/w", ops=conv)
        r[f"{d}ffn.fc1.bias"] = Rule(s + "mlp/c_fc/b")
        r[f"{d}ffn.fc2.weight"] = Rule(s + "mlp/c_proj/w", ops=conv)
        r[f"{d}ffn.fc2.bias"] = Rule(s + "mlp/c_proj/b")
        r[f"{d}attn_norm.weight"] = Rule(s + "ln_1/g")
        r[f"{d}attn_norm.bias"] = Rule(s + "ln_1/b")
        r[f"{d}ffn_norm.weight"] = Rule(s + "ln_2/g")
        r[f"{d}ffn_norm.bias"] = Rule(s + "ln_2/b")
    return km


def gpt2_ml_tf_key_map(model, keys: list[str] | None, vocab: Transform | None) -> KeyMap:
    """GPT2_ML (imcaspar/gpt2-ml): ``newslm/embeddings/word_embed``,
    ``newslm/layer00/query_layer/kernel``, ``LayerNorm_mlp_ln0``, ``LayerNorm_mlp_ln1``."""
    km = KeyMap(ignore=SLOTS)
    r = km.rules
    r["token.weight"] = Rule("newslm/embeddings/word_embed", vocab)
    r["position.weight"] = Rule("newslm/embeddings/pos_embed")
    _norm(km, "emb_norm", "newslm/embeddings/LayerNorm_embed_norm")
    for i in range(len(model.layers)):
        s, d = f"newslm/layer{i:02d}/", f"layers.{i}."
        _dense(km, f"{d}attn.q", s + "query_layer")
        _dense(km, f"{d}attn.k", s + "key_layer")
        _dense(km, f"{d}attn.v", s + "value_layer")
        _dense(km, f"{d}attn.o", s + "context_projection_layer")
        _norm(km, f"{d}ffn_in_norm", s + "LayerNorm_mlp_ln0")
        _dense(km, f"{d}ffn.fc1", s + "intermediate")
        _dense(km, f"{d}ffn.fc2", s + "output")
        _norm(km, f"{d}ffn_norm", s + "LayerNorm_mlp_ln1")
    return km


def t5_tf_key_map(model, keys: list[str] | None, vocab: Transform | None) -> KeyMap:
    """Mesh-TensorFlow T5 / T5.1.1 / mT5 / T5 PEGASUS: ``shared/embedding``,
    ``encoder/block_000/layer_000/SelfAttention/q`` (``[d_model, inner]``),
    ``.../relative_attention_bias`` (``[heads, buckets]``, block 0 only),
    ``.../DenseReluDense/wi_0/kernel``, ``.../layer_norm/scale``, ``decoder/logits/kernel``."""
    keys = keys or []
    c = model.config
    km = KeyMap(ignore=SLOTS)
    r = km.rules
    r["shared.weight"] = Rule("shared/embedding", vocab)
    for stack in ("encoder", "decoder"):
        r[f"{stack}.final_norm.weight"] = Rule(f"{stack}/final_layer_norm/scale")
        r[f"{stack}.rel_bias.weight"] = Rule(
            f"{stack}/block_000/layer_000/SelfAttention/relative_attention_bias", ops=T
        )
        for i in range(len(getattr(model, stack).layers)):
            s, d = f"{stack}/block_{i:03d}/", f"{stack}.layers.{i}."
            for name in "qkvo":
                r[f"{d}attn.{name}.weight"] = Rule(f"{s}layer_000/SelfAttention/{name}", ops=T)
            r[f"{d}attn_norm.weight"] = Rule(f"{s}layer_000/layer_norm/scale")
            f = 1
            if stack == "decoder":
                for name in "qkvo":
                    r[f"{d}cross.{name}.weight"] = Rule(
                        f"{s}layer_001/EncDecAttention/{name}", ops=T
                    )
                r[f"{d}cross_norm.weight"] = Rule(f"{s}layer_001/layer_norm/scale")
                f = 2
            ff = f"{s}layer_{f:03d}/"
            if c.gated:
                r[f"{d}ffn.fc1.weight"] = Rule(ff + "DenseReluDense/wi_0/kernel", ops=T)
                r[f"{d}ffn.gate.weight"] = Rule(ff + "DenseReluDense/wi_1/kernel", ops=T)
            else:
                r[f"{d}ffn.fc1.weight"] = Rule(ff + "DenseReluDense/wi/kernel", ops=T)
            r[f"{d}ffn.fc2.weight"] = Rule(ff + "DenseReluDense/wo/kernel", ops=T)
            r[f"{d}ffn_norm.weight"] = Rule(ff + "layer_norm/scale")
    if "decoder/logits/kernel" in keys or not c.tie_word_embeddings:
        r["lm_head.weight"] = Rule("decoder/logits/kernel", vocab, ops=T)
        km.unused["decoder/logits/kernel"] = "LM head not built (with_lm=False)"
    else:
        r["lm_head.weight"] = Rule("shared/embedding", vocab)
    return km
