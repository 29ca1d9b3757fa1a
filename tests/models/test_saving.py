"""save_pretrained: bit-exact round trips per family and flag, transformers reads the output,
automatic padding mask, the two loading bugs (T5 tie default, bias-free CLN projection)."""

from __future__ import annotations

import json

import pytest
import torch
import transformers

from kexue.models import build_transformer_model, get_family, save_pretrained
from kexue.models.saving import hf_plan

from ._hf import max_diff, padded_batch, randomize

BERT = dict(
    vocab_size=40,
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=24,
    max_position_embeddings=32,
)
GPT = dict(vocab_size=40, n_embd=16, n_layer=2, n_head=2, n_positions=32)
T5 = dict(
    vocab_size=40, d_model=16, d_kv=8, d_ff=24, num_layers=2, num_heads=2,
    feed_forward_proj="gated-gelu",
)

# (family, config, build options, the application)
CASES = {
    "gpt2": ("gpt2", GPT, {}, "lm"),
    "gpt2-encoder": ("gpt2", GPT, {}, "encoder"),
    "gpt2_ml": ("gpt2_ml", GPT, {}, "lm"),
    "t5-untied": ("t5", {**T5, "tie_word_embeddings": False}, {}, "encoder"),
    "t5-tied": ("t5", {**T5, "feed_forward_proj": "relu", "tie_word_embeddings": True}, {},
                "encoder"),
    "roformer-sim": ("roformer", BERT, dict(with_pool="linear", with_mlm=True), "encoder"),
}
_BERT_CONFIGS = {"bert": BERT, "roformer": BERT, "nezha": {**BERT, "max_relative_position": 8}}
_VARIANTS = {
    "encoder": ({}, "encoder"),
    "heads": (dict(with_pool=True, with_nsp=True, with_mlm=True), "encoder"),
    "lm": ({}, "lm"),
    "unilm": ({}, "unilm"),
    "realformer": (dict(residual_attention_scores=True, with_mlm=True), "encoder"),
    "cln": (dict(layer_norm_cond_size=5, layer_norm_cond_hidden_size=6, with_mlm=True),
            "encoder"),
}
for _family, _config in _BERT_CONFIGS.items():
    for _variant, (_options, _application) in _VARIANTS.items():
        CASES[f"{_family}-{_variant}"] = (_family, _config, _options, _application)


def _build(case, **extra):
    family, config, options, application = CASES[case]
    torch.manual_seed(0)
    m = build_transformer_model(dict(config), model=family, application=application,
                                **options, **extra)
    randomize(m)
    if family == "t5" and m.config.tie_word_embeddings:
        with torch.no_grad():
            m.lm_head.weight.copy_(m.shared.weight)
    return m


def _run(m, case, ids, mask):
    family = CASES[case][0]
    cond = torch.randn(ids.shape[0], 5, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        if family == "t5":
            return m(ids, ids[:, :3], attention_mask=mask).logits
        if "cln" in case:
            return m(ids, attention_mask=mask, condition=cond).hidden
        out = m(ids, attention_mask=mask)
        return out.logits if out.logits is not None else out.hidden


@pytest.mark.parametrize("case", sorted(CASES))
def test_save_load_is_bit_identical(case, tmp_path):
    family, _config, options, application = CASES[case]
    m = _build(case)
    path = save_pretrained(m, tmp_path / "out")
    saved = json.loads((path / "config.json").read_text())
    for opt in ("with_pool", "with_nsp", "with_mlm", "hierarchical_position"):
        assert opt not in saved  # build options are never saved
    back = build_transformer_model(checkpoint_path=path, model=family, application=application,
                                   **{k: v for k, v in options.items()
                                      if k in ("with_pool", "with_nsp", "with_mlm")})
    a, b = m.state_dict(), back.state_dict()
    assert list(a) == list(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ids, mask = padded_batch(40, [6, 4])
    assert max_diff(_run(m, case, ids, mask), _run(back, case, ids, mask)) == 0.0


@pytest.mark.parametrize("case", ["bert-heads", "roformer-heads", "nezha-heads", "gpt2",
                                  "gpt2_ml", "t5-untied"])
def test_keep_tokens_round_trip(tmp_path, case):
    family, _config, options, application = CASES[case]
    options = {k: v for k, v in options.items() if k == "with_mlm"}
    m = _build(case)
    save_pretrained(m, tmp_path / "full")
    keep = [0, 1, 2, 3, 7, 9, 11, 30]
    small = build_transformer_model(checkpoint_path=tmp_path / "full", keep_tokens=keep,
                                    model=family, application=application, **options)
    assert small.vocab_size == 8
    save_pretrained(small, tmp_path / "small")
    assert json.loads((tmp_path / "small" / "config.json").read_text())["vocab_size"] == 8
    back = build_transformer_model(checkpoint_path=tmp_path / "small", model=family,
                                   application=application, **options)
    for k, v in small.state_dict().items():
        assert torch.equal(v, back.state_dict()[k]), k


def test_save_refuses_an_existing_directory_and_writes_vocab(tmp_path):
    m = _build("bert-encoder")
    save_pretrained(m, tmp_path / "d", vocab=[f"t{i}" for i in range(40)])
    assert (tmp_path / "d" / "vocab.txt").read_text().splitlines()[3] == "t3"
    with pytest.raises(FileExistsError):
        save_pretrained(m, tmp_path / "d")
    m.save_pretrained(tmp_path / "d", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no temporary left


def _hf_outputs(case, path, ids, mask):
    family = CASES[case][0]
    with torch.no_grad():
        if family == "bert":
            hf = transformers.BertForPreTraining.from_pretrained(path).eval()
            o = hf(ids, attention_mask=mask, output_hidden_states=True)
            return o.hidden_states[-1], o.prediction_logits, o.seq_relationship_logits
        if family == "roformer":
            hf = transformers.RoFormerForMaskedLM.from_pretrained(path).eval()
            o = hf(ids, attention_mask=mask, output_hidden_states=True)
            return o.hidden_states[-1], o.logits
        if family == "gpt2":
            hf = transformers.GPT2LMHeadModel.from_pretrained(path).eval()
            return (hf(ids, attention_mask=mask).logits,)
        hf = transformers.T5ForConditionalGeneration.from_pretrained(path).eval()
        return (hf(input_ids=ids, attention_mask=mask, decoder_input_ids=ids[:, :3]).logits,)


def _kexue_outputs(case, m, ids, mask):
    family = CASES[case][0]
    with torch.no_grad():
        if family == "bert":
            o = m(ids, attention_mask=mask)
            return o.hidden, o.mlm_logits, o.nsp_logits
        if family == "roformer":
            o = m(ids, attention_mask=mask)
            return o.hidden, o.mlm_logits
        if family == "gpt2":
            return (m(ids, attention_mask=mask).logits,)
        return (m(ids, ids[:, :3], attention_mask=mask).logits,)


@pytest.mark.parametrize("case", ["bert-heads", "roformer-sim", "gpt2", "t5-untied", "t5-tied"])
def test_transformers_reads_the_saved_directory(case, tmp_path):
    m = _build(case)
    if case == "roformer-sim":  # HF RoFormer has no pooler: a plain MLM model
        m = _build(case)
    m.save_pretrained(tmp_path / "hf")
    ids, mask = padded_batch(40, [7, 5], pad=0)
    if case == "gpt2":
        mask = torch.ones_like(mask)
    ours = _kexue_outputs(case, m, ids, mask)
    theirs = _hf_outputs(case, tmp_path / "hf", ids, mask)
    real = mask.bool()
    for a, b in zip(ours, theirs):
        if a.dim() == 3 and a.shape[1] == ids.shape[1]:
            a, b = a[real], b[real]
        assert max_diff(a, b) < 1e-5


def test_padded_batch_without_mask_equals_explicit_mask():
    for case in ("bert-heads", "roformer-sim", "nezha-heads", "t5-untied"):
        m = _build(case)
        ids, mask = padded_batch(40, [7, 4, 2], pad=0)
        with torch.no_grad():
            if CASES[case][0] == "t5":
                auto = m(ids, ids[:, :3]).logits
                explicit = m(ids, ids[:, :3], attention_mask=mask).logits
                assert max_diff(auto, explicit) == 0.0
                # an explicit mask always wins
                assert max_diff(m(ids, ids[:, :3], attention_mask=torch.ones_like(mask)).logits,
                                auto) > 1e-4
                continue
            auto, explicit = m(ids), m(ids, attention_mask=mask)
            real = mask.bool()
            assert max_diff(auto.hidden[real], explicit.hidden[real]) == 0.0
            assert max_diff(m(ids, attention_mask=torch.ones_like(mask)).hidden[real],
                            auto.hidden[real]) > 1e-4


def test_tied_t5_config_without_the_key_loads_tied(tmp_path):
    """transformers 4.x omits ``tie_word_embeddings`` when true (its default)."""
    torch.manual_seed(0)
    cfg = transformers.T5Config(**{**T5, "feed_forward_proj": "relu"}, tie_word_embeddings=True)
    hf = transformers.T5ForConditionalGeneration(cfg).eval()
    randomize(hf)
    hf.tie_weights()
    hf.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    data.pop("tie_word_embeddings", None)
    (tmp_path / "config.json").write_text(json.dumps(data))
    m = build_transformer_model(checkpoint_path=tmp_path, model="t5")
    ids, mask = padded_batch(40, [6, 6])
    with torch.no_grad():
        ref = hf(input_ids=ids, decoder_input_ids=ids[:, :4]).logits
        assert max_diff(m(ids, ids[:, :4]).logits, ref) < 1e-5
    # transformers 4's pytorch_model.bin of a tied T5 also stores the head (a copy)
    state = {k: v.clone() for k, v in hf.state_dict().items()}
    state["lm_head.weight"] = state["shared.weight"].clone()
    (tmp_path / "model.safetensors").unlink()
    torch.save(state, tmp_path / "pytorch_model.bin")
    m = build_transformer_model(checkpoint_path=tmp_path, model="t5")
    with torch.no_grad():
        assert max_diff(m(ids, ids[:, :4]).logits, ref) < 1e-5


def test_conditional_layer_norm_projection_has_no_bias():
    m = build_transformer_model(
        dict(BERT), layer_norm_cond_size=5, layer_norm_cond_hidden_size=6
    )
    names = [n for n in m.state_dict() if ".cond_proj." in n]
    assert names and all(n.endswith(".weight") for n in names)


def test_registry_has_one_entry_per_family():
    assert get_family("mt5.1.1").name == "t5" and get_family("roberta").name == "bert"
    with pytest.raises(ValueError, match="unknown model family"):
        get_family("xlnet")
    plan = hf_plan(_build("gpt2"))
    assert [k for k, _ in plan["transformer.h.0.attn.c_attn.weight"]] == [
        "layers.0.attn.q.weight", "layers.0.attn.k.weight", "layers.0.attn.v.weight"]
