"""Typed configs: HF and Google/bert4keras naming, metadata, unknown keys, missing fields."""

from __future__ import annotations

import pytest

from kexue.models import BertConfig, GPT2Config, T5Config, build_transformer_model

GOOGLE = {  # a Google bert_config.json, bert4keras names mixed in
    "attention_probs_dropout_prob": 0.1,
    "directionality": "bidi",
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 16,
    "initializer_range": 0.02,
    "intermediate_size": 24,
    "max_position_embeddings": 32,
    "num_attention_heads": 2,
    "num_hidden_layers": 1,
    "pooler_fc_size": 768,
    "pooler_num_attention_heads": 12,
    "pooler_num_fc_layers": 3,
    "pooler_size_per_head": 128,
    "pooler_type": "first_token_transform",
    "type_vocab_size": 2,
    "vocab_size": 50,
}


def test_google_config_is_accepted():
    c = BertConfig.from_dict(GOOGLE)
    assert (c.hidden_size, c.max_position_embeddings, c.head_size, c.embedding_size) == (
        16,
        32,
        8,
        16,
    )


def test_bert4keras_aliases():
    data = {
        k: v for k, v in GOOGLE.items() if k not in ("max_position_embeddings", "type_vocab_size")
    }
    c = BertConfig.from_dict(
        {**data, "max_position": 64, "segment_vocab_size": 3, "dropout_rate": 0.2}
    )
    assert (c.max_position_embeddings, c.type_vocab_size, c.hidden_dropout_prob) == (64, 3, 0.2)


def test_hf_metadata_is_accepted():
    meta = {
        "architectures": ["BertModel"],
        "torch_dtype": "float32",
        "model_type": "bert",
        "transformers_version": "5.23.0",
        "pad_token_id": 0,
        "use_cache": True,
    }
    assert BertConfig.from_dict({**GOOGLE, **meta}).vocab_size == 50


def test_unknown_key_raises_naming_it():
    with pytest.raises(ValueError, match=r"unknown keys \['rope_theta_scale'\]"):
        BertConfig.from_dict({**GOOGLE, "rope_theta_scale": 2.0})


def test_math_changing_known_key_must_hold_the_implemented_value():
    with pytest.raises(ValueError, match="position_embedding_type='relative_key'"):
        BertConfig.from_dict({**GOOGLE, "position_embedding_type": "relative_key"})
    with pytest.raises(ValueError, match="scale_attn_by_inverse_layer_idx"):
        GPT2Config.from_dict(
            {
                "vocab_size": 5,
                "n_embd": 8,
                "n_layer": 1,
                "n_head": 2,
                "scale_attn_by_inverse_layer_idx": True,
            }
        )


def test_missing_required_fields_are_named():
    with pytest.raises(ValueError, match=r"\['vocab_size', 'num_attention_heads'\]"):
        BertConfig.from_dict(
            {k: v for k, v in GOOGLE.items() if k not in ("vocab_size", "num_attention_heads")}
        )


def test_bad_values_raise():
    with pytest.raises(ValueError, match="not divisible"):
        BertConfig.from_dict({**GOOGLE, "num_attention_heads": 3})
    with pytest.raises(ValueError, match="positive int"):
        BertConfig.from_dict({**GOOGLE, "hidden_size": 0})
    with pytest.raises(ValueError, match="with_pool"):
        BertConfig.from_dict({**GOOGLE, "with_pool": "relu"})


def test_t5_names():
    c = T5Config.from_dict(
        {
            "vocab_size": 10,
            "d_model": 8,
            "d_kv": 4,
            "d_ff": 16,
            "num_layers": 2,
            "num_heads": 2,
            "feed_forward_proj": "gated-gelu",
            "dense_act_fn": "gelu_new",
            "is_gated_act": True,
        }
    )
    assert (c.num_decoder_layers, c.gated, c.act, c.scale_decoder_outputs) == (
        2,
        True,
        "gelu_new",
        True,
    )


def test_build_rejects_unknown_kwargs():
    with pytest.raises(TypeError, match="with_poool"):
        build_transformer_model(GOOGLE, with_poool=True)


def test_build_validates_model_and_application():
    with pytest.raises(ValueError, match="unknown model family"):
        build_transformer_model(GOOGLE, model="bart")
    with pytest.raises(ValueError, match="application"):
        build_transformer_model(GOOGLE, application="seq2seq")


def test_kwargs_override_config_fields():
    model = build_transformer_model(GOOGLE, num_hidden_layers=3)
    assert len(model.layers) == 3
