"""One output type for every family and application: ``ModelOutput``, with attribute access,
the transformers names as aliases, and tuple behaviour in a fixed order (hidden first)."""

from __future__ import annotations

import pytest
import torch

from kexue.models import ModelOutput, build_transformer_model, logits_of

BERT = {"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 24, "max_position_embeddings": 16}
GPT2 = {"model_type": "gpt2", "vocab_size": 40, "n_positions": 16, "n_embd": 16, "n_layer": 1,
        "n_head": 2}
T5 = {"model_type": "t5", "vocab_size": 40, "d_model": 16, "d_kv": 8, "d_ff": 32,
      "num_layers": 1, "num_heads": 2}

CASES = [
    # (config, model, application, options, expected present fields)
    (BERT, "bert", "encoder", {}, ("hidden",)),
    (BERT, "bert", "encoder", {"with_pool": True}, ("hidden", "pooled")),
    (BERT, "bert", "encoder", {"with_pool": True, "with_nsp": True, "with_mlm": True},
     ("hidden", "pooled", "nsp_logits", "logits")),
    (BERT, "bert", "encoder", {"with_mlm": True}, ("hidden", "logits")),
    (BERT, "bert", "lm", {}, ("hidden", "logits")),
    (BERT, "bert", "unilm", {}, ("hidden", "logits")),
    (BERT, "bert", "unilm", {"with_pool": True}, ("hidden", "pooled", "logits")),
    (BERT, "roformer", "lm", {"with_pool": True}, ("hidden", "pooled", "logits")),
    (BERT, "nezha", "encoder", {"with_nsp": True, "with_pool": True},
     ("hidden", "pooled", "nsp_logits")),
    (GPT2, "gpt2", "lm", {}, ("hidden", "logits")),
    (GPT2, "gpt2", "encoder", {}, ("hidden",)),
    (GPT2, "gpt2_ml", "lm", {}, ("hidden", "logits")),
    (T5, "t5", "encoder", {}, ("hidden", "logits")),
    (T5, "t5", "encoder", {"with_lm": False}, ("hidden",)),
]


def _run(config, model, application, options):
    torch.manual_seed(0)
    cfg = {k: v for k, v in config.items() if k != "model_type"}
    net = build_transformer_model(cfg, model=model, application=application, **options)
    ids = torch.randint(1, 40, (2, 5))
    with torch.no_grad():
        return net, (net(ids, ids[:, :3]) if model == "t5" else net(ids))


@pytest.mark.parametrize("config, model, application, options, present", CASES)
def test_every_family_and_application_returns_model_output(
    config, model, application, options, present
):
    net, out = _run(config, model, application, options)
    assert type(out) is ModelOutput
    assert out.present() == present and len(out) == len(present)
    values = tuple(out)  # unpacks like the tuple of present fields, hidden first
    assert len(values) == len(present)
    for name, value in zip(present, values):
        assert value is getattr(out, name) is out[name]
    assert out[0] is out.hidden and out[-1] is values[-1]
    assert out.hidden.shape[-1] == 16
    if "logits" in present:
        assert out.logits.shape[-1] == 40 and logits_of(out) is out.logits
    else:
        with pytest.raises(ValueError, match="no logits"):
            logits_of(out)


def test_unilm_with_pool_keeps_the_pooled_output():
    """It used to return the MLM logits alone, dropping the pooler without a word."""
    _, out = _run(BERT, "bert", "unilm", {"with_pool": True})
    hidden, pooled, logits = out
    assert pooled.shape == (2, 16) and logits.shape == (2, 5, 40)


def test_transformers_names_are_aliases():
    _, out = _run(BERT, "bert", "encoder", {"with_pool": True, "with_nsp": True,
                                            "with_mlm": True})
    assert out.last_hidden_state is out.hidden
    assert out.pooler_output is out.pooled
    assert out.seq_relationship_logits is out.nsp_logits
    assert out.prediction_logits is out.logits is out.mlm_logits
    assert out["last_hidden_state"] is out.hidden
    with pytest.raises(AttributeError, match="no field 'hiden'"):
        out.hiden  # noqa: B018
    with pytest.raises(KeyError):
        out["nothing"]


def test_tensor_indexing_is_refused_with_advice():
    _, out = _run(GPT2, "gpt2", "lm", {})
    with pytest.raises(TypeError, match=r"out.logits\[:, -1\]"):
        out[:, -1]
    assert out[:1] == (out.hidden,)
