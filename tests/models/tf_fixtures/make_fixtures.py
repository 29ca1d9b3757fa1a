"""Write the TensorFlow checkpoint fixtures with REAL TensorFlow (run once; outputs committed).

    /work/venvs/tf/bin/python tests/models/tf_fixtures/make_fixtures.py

Each fixture is a tiny random model saved by ``tf.compat.v1.train.Saver`` under the variable
names of the released checkpoints of its family (bert4keras ``variable_mapping()`` / the
released ``bert_config.json`` files: facts only), with the config file those releases ship.
The TensorFlow version that wrote them is recorded in ``VERSION``. The tests read these
files with kexue's pure-NumPy reader and never import TensorFlow.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf

HERE = Path(__file__).resolve().parent
RNG = np.random.default_rng(20261203)


def rand(*shape: int, scale: float = 0.3) -> np.ndarray:
    return (scale * RNG.standard_normal(shape)).astype(np.float32)


def gain(n: int) -> np.ndarray:
    return (1.0 + 0.2 * RNG.standard_normal(n)).astype(np.float32)


def save(name: str, prefix: str, variables: dict[str, object], config: dict,
         config_name: str) -> None:
    """Save ``variables`` (name -> array, or (array, tf dtype)) as ``name/prefix``."""
    folder = HERE / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    graph = tf.Graph()
    with graph.as_default():
        made = []
        for var_name, value in variables.items():
            dtype = None
            if isinstance(value, tuple):
                value, dtype = value
            init = tf.constant(value, dtype=dtype) if dtype is not None else tf.constant(value)
            made.append(tf.compat.v1.Variable(init, name=var_name))
        saver = tf.compat.v1.train.Saver(made)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(folder / prefix), write_meta_graph=False, write_state=False)
    (folder / config_name).write_text(json.dumps(config, indent=2) + "\n")


def bert_variables(c: dict, *, positions: bool, pooler: bool, mlm: bool, nsp: bool,
                   scope: str = "bert") -> dict[str, np.ndarray]:
    h, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    out = {
        f"{scope}/embeddings/word_embeddings": rand(v, h),
        f"{scope}/embeddings/token_type_embeddings": rand(c["type_vocab_size"], h),
        f"{scope}/embeddings/LayerNorm/gamma": gain(h),
        f"{scope}/embeddings/LayerNorm/beta": rand(h),
    }
    if positions:
        out[f"{scope}/embeddings/position_embeddings"] = rand(c["max_position_embeddings"], h)
    for i in range(c["num_hidden_layers"]):
        p = f"{scope}/encoder/layer_{i}/"
        for part in ("query", "key", "value"):
            out[p + f"attention/self/{part}/kernel"] = rand(h, h)
            out[p + f"attention/self/{part}/bias"] = rand(h)
        out[p + "attention/output/dense/kernel"] = rand(h, h)
        out[p + "attention/output/dense/bias"] = rand(h)
        out[p + "attention/output/LayerNorm/gamma"] = gain(h)
        out[p + "attention/output/LayerNorm/beta"] = rand(h)
        out[p + "intermediate/dense/kernel"] = rand(h, f)
        out[p + "intermediate/dense/bias"] = rand(f)
        out[p + "output/dense/kernel"] = rand(f, h)
        out[p + "output/dense/bias"] = rand(h)
        out[p + "output/LayerNorm/gamma"] = gain(h)
        out[p + "output/LayerNorm/beta"] = rand(h)
    if pooler:
        out[f"{scope}/pooler/dense/kernel"] = rand(h, h)
        out[f"{scope}/pooler/dense/bias"] = rand(h)
    if mlm:
        out["cls/predictions/transform/dense/kernel"] = rand(h, h)
        out["cls/predictions/transform/dense/bias"] = rand(h)
        out["cls/predictions/transform/LayerNorm/gamma"] = gain(h)
        out["cls/predictions/transform/LayerNorm/beta"] = rand(h)
        out["cls/predictions/output_bias"] = rand(v)
    if nsp:
        out["cls/seq_relationship/output_weights"] = rand(2, h)
        out["cls/seq_relationship/output_bias"] = rand(2)
    return out


BERT_CONFIG = {  # a Google bert_config.json, tiny
    "attention_probs_dropout_prob": 0.1,
    "directionality": "bidi",
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 8,
    "initializer_range": 0.02,
    "intermediate_size": 16,
    "max_position_embeddings": 16,
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "type_vocab_size": 2,
    "vocab_size": 24,
}


def main() -> None:
    tf.compat.v1.disable_eager_execution()
    c = BERT_CONFIG
    variables = bert_variables(c, positions=True, pooler=True, mlm=True, nsp=True)
    variables["global_step"] = np.int64(7)
    save("bert_mlm_nsp", "bert_model.ckpt", variables, c, "bert_config.json")

    roformer = {**c, "max_position_embeddings": 64}
    save("roformer", "bert_model.ckpt",
         bert_variables(roformer, positions=False, pooler=False, mlm=True, nsp=False),
         roformer, "bert_config.json")
    save("roformer_sim", "bert_model.ckpt",
         bert_variables(roformer, positions=False, pooler=True, mlm=True, nsp=False),
         roformer, "bert_config.json")

    nezha = {**c, "max_relative_position": 4, "use_relative_position": True}
    save("nezha", "model.ckpt",
         bert_variables(nezha, positions=False, pooler=True, mlm=True, nsp=False),
         nezha, "bert_config.json")

    # float16 and bfloat16 variables, as TensorFlow writes them (encoder only)
    half = bert_variables(c, positions=True, pooler=False, mlm=False, nsp=False)
    for i, key in enumerate(sorted(half)):
        half[key] = (half[key], tf.float16 if i % 2 else tf.bfloat16)
    save("bert_half", "bert_model.ckpt", half, c, "bert_config.json")

    # GPT2_ML (imcaspar/gpt2-ml): newslm/... names, its configs/*.json keys
    g = {
        "vocab_size": 24, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 16, "max_position_embeddings": 16, "hidden_act": "gelu",
        "initializer_range": 0.014142135623730951, "attention_probs_dropout_prob": 0.1,
        "hidden_dropout_prob": 0.1,
    }
    h, f = g["hidden_size"], g["intermediate_size"]
    gv = {
        "newslm/embeddings/word_embed": rand(g["vocab_size"], h),
        "newslm/embeddings/pos_embed": rand(g["max_position_embeddings"], h),
        "newslm/embeddings/LayerNorm_embed_norm/gamma": gain(h),
        "newslm/embeddings/LayerNorm_embed_norm/beta": rand(h),
    }
    for i in range(g["num_hidden_layers"]):
        p = f"newslm/layer{i:02d}/"
        for part in ("query_layer", "key_layer", "value_layer", "context_projection_layer"):
            gv[p + part + "/kernel"] = rand(h, h)
            gv[p + part + "/bias"] = rand(h)
        for ln in ("LayerNorm_mlp_ln0", "LayerNorm_mlp_ln1"):
            gv[p + ln + "/gamma"] = gain(h)
            gv[p + ln + "/beta"] = rand(h)
        gv[p + "intermediate/kernel"] = rand(h, f)
        gv[p + "intermediate/bias"] = rand(f)
        gv[p + "output/kernel"] = rand(f, h)
        gv[p + "output/bias"] = rand(h)
    save("gpt2_ml", "model.ckpt-100000", gv, g, "config.json")

    # mT5 / T5.1.1 in Mesh-TensorFlow naming, with Adafactor slots; bert4keras-style config
    t = {
        "hidden_act": ["gelu", "linear"], "hidden_dropout_prob": 0.1, "hidden_size": 8,
        "initializer_range": 0.02, "intermediate_size": 12, "num_attention_heads": 2,
        "attention_head_size": 4, "num_hidden_layers": 2, "vocab_size": 24,
        "relative_attention_num_buckets": 8, "attention_scale": False, "is_dropout": True,
    }
    d, inner, ff, v = 8, 8, 12, 24
    tv = {"shared/embedding": rand(v, d), "decoder/logits/kernel": rand(d, v)}
    for stack in ("encoder", "decoder"):
        tv[f"{stack}/final_layer_norm/scale"] = gain(d)
        tv[f"{stack}/block_000/layer_000/SelfAttention/relative_attention_bias"] = rand(2, 8)
        for i in range(2):
            p = f"{stack}/block_{i:03d}/"
            for part in "qkv":
                tv[p + f"layer_000/SelfAttention/{part}"] = rand(d, inner)
            tv[p + "layer_000/SelfAttention/o"] = rand(inner, d)
            tv[p + "layer_000/layer_norm/scale"] = gain(d)
            k = 1
            if stack == "decoder":
                for part in "qkv":
                    tv[p + f"layer_001/EncDecAttention/{part}"] = rand(d, inner)
                tv[p + "layer_001/EncDecAttention/o"] = rand(inner, d)
                tv[p + "layer_001/layer_norm/scale"] = gain(d)
                k = 2
            tv[p + f"layer_{k:03d}/DenseReluDense/wi_0/kernel"] = rand(d, ff)
            tv[p + f"layer_{k:03d}/DenseReluDense/wi_1/kernel"] = rand(d, ff)
            tv[p + f"layer_{k:03d}/DenseReluDense/wo/kernel"] = rand(ff, d)
            tv[p + f"layer_{k:03d}/layer_norm/scale"] = gain(d)
    tv["shared/embedding_slot_vc"] = rand(d)
    tv["shared/embedding_slot_vr"] = rand(v)
    tv["global_step"] = np.int64(1000000)
    save("mt5", "model.ckpt-1000000", tv, t, "config.json")

    (HERE / "VERSION").write_text(
        f"tensorflow {tf.__version__} (git {tf.version.GIT_VERSION})\n"
        "written by tests/models/tf_fixtures/make_fixtures.py\n"
    )


if __name__ == "__main__":
    main()
