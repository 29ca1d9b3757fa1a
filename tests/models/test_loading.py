"""Strict loading and bad input: corrupt files, missing fields, other families, unmapped keys."""

from __future__ import annotations

import json

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file

from kexue.models import build_transformer_model
from kexue.models.loading import guess_family

from ._hf import max_diff, randomize, save_hf

TINY = dict(
    vocab_size=40,
    hidden_size=16,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=24,
    max_position_embeddings=16,
)


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    torch.manual_seed(0)
    hf = transformers.BertModel(transformers.BertConfig(**TINY))
    randomize(hf)
    return save_hf(hf, tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    hf = transformers.GPT2Model(
        transformers.GPT2Config(vocab_size=40, n_embd=16, n_layer=1, n_head=2, n_positions=16)
    )
    return save_hf(hf, tmp_path_factory.mktemp("gpt2"))


def _copy(src, dst, tensors=None, config=None):
    dst.mkdir(exist_ok=True)
    tensors = load_file(str(src / "model.safetensors")) if tensors is None else tensors
    save_file(tensors, str(dst / "model.safetensors"))
    cfg = json.loads((src / "config.json").read_text()) if config is None else config
    (dst / "config.json").write_text(json.dumps(cfg))
    return dst


def test_corrupt_weights_file(bert_dir, tmp_path):
    d = _copy(bert_dir, tmp_path / "c")
    (d / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ValueError, match="corrupt or truncated"):
        build_transformer_model(checkpoint_path=d)


def test_truncated_weights_file(bert_dir, tmp_path):
    d = _copy(bert_dir, tmp_path / "t")
    data = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="model.safetensors.*corrupt or truncated"):
        build_transformer_model(checkpoint_path=d)


def test_truncated_pytorch_bin(bert_dir, tmp_path):
    d = tmp_path / "bin"
    d.mkdir()
    (d / "config.json").write_text((bert_dir / "config.json").read_text())
    torch.save(load_file(str(bert_dir / "model.safetensors")), d / "pytorch_model.bin")
    good = build_transformer_model(checkpoint_path=d)
    ref = build_transformer_model(checkpoint_path=bert_dir)
    ids = torch.randint(1, 40, (1, 5))
    with torch.no_grad():
        assert max_diff(good(ids).hidden, ref(ids).hidden) == 0.0
    data = (d / "pytorch_model.bin").read_bytes()
    (d / "pytorch_model.bin").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        build_transformer_model(checkpoint_path=d)


def test_config_missing_a_field_names_it(bert_dir):
    cfg = json.loads((bert_dir / "config.json").read_text())
    del cfg["hidden_size"]
    with pytest.raises(ValueError, match=r"missing required field\(s\): \['hidden_size'\]"):
        build_transformer_model(cfg, bert_dir / "model.safetensors")


def test_checkpoint_of_another_family_by_config(gpt2_dir):
    with pytest.raises(ValueError, match="model_type='gpt2'.*try model='gpt2'"):
        build_transformer_model(checkpoint_path=gpt2_dir, model="bert")


def test_checkpoint_of_another_family_by_keys(bert_dir, gpt2_dir):
    cfg = {
        k: v
        for k, v in json.loads((bert_dir / "config.json").read_text()).items()
        if k != "model_type"
    }
    with pytest.raises(ValueError) as info:
        build_transformer_model(cfg, gpt2_dir / "model.safetensors", model="bert")
    msg = str(info.value)
    assert "missing keys" in msg and "embeddings.word_embeddings.weight" in msg
    assert "unexpected keys" in msg and "h.0.attn.c_attn.weight" in msg
    assert "try model='gpt2'" in msg


def test_bert_checkpoint_as_roformer_suggests_bert(bert_dir):
    cfg = {**json.loads((bert_dir / "config.json").read_text()), "model_type": "roformer"}
    cfg.pop("position_embedding_type", None)
    with pytest.raises(ValueError, match="try model='bert'"):
        build_transformer_model(cfg, bert_dir / "model.safetensors", model="roformer")


def test_unmapped_key_raises(bert_dir, tmp_path):
    tensors = load_file(str(bert_dir / "model.safetensors"))
    tensors["encoder.layer.0.attention.self.extra.weight"] = torch.zeros(2)
    d = _copy(bert_dir, tmp_path / "u", tensors)
    with pytest.raises(ValueError, match=r"unexpected keys \(1;.*\): .*self\.extra\.weight"):
        build_transformer_model(checkpoint_path=d)


def test_missing_key_raises(bert_dir, tmp_path):
    tensors = load_file(str(bert_dir / "model.safetensors"))
    del tensors["encoder.layer.0.output.dense.bias"]
    d = _copy(bert_dir, tmp_path / "m", tensors)
    with pytest.raises(ValueError, match=r"missing keys \(1\): encoder.layer.0.output.dense.bias"):
        build_transformer_model(checkpoint_path=d)


@pytest.mark.parametrize("model", ["bert", "roformer", "nezha"])
@pytest.mark.parametrize("head", ["with_pool", "with_mlm", "with_nsp"])
def test_a_requested_head_the_checkpoint_lacks_is_fresh_and_warned(tmp_path, model, head):
    """One rule for every BERT-family member: a head asked for but absent is initialised
    fresh, named in the report and in a warning (BERT used to raise, RoFormer to stay quiet)."""
    build_transformer_model(TINY, model=model).save_pretrained(tmp_path / "m")
    extra = {"with_pool": True} if head == "with_nsp" else {}
    with pytest.warns(UserWarning, match="initialised fresh"):
        model_ = build_transformer_model(checkpoint_path=tmp_path / "m", **{head: True}, **extra)
    name = {"with_pool": "pooler", "with_mlm": "mlm", "with_nsp": "nsp"}[head]
    assert name in model_.load_report.new_heads
    assert any(k.startswith(name + ".") for k in model_.load_report.initialised)
    assert "heads initialised fresh" in model_.load_report.summary()


def test_a_head_the_checkpoint_holds_in_part_is_an_error(tmp_path):
    build_transformer_model(TINY, with_pool=True).save_pretrained(tmp_path / "m")
    tensors = load_file(str(tmp_path / "m" / "model.safetensors"))
    del tensors["bert.pooler.dense.bias"]
    d = _copy(tmp_path / "m", tmp_path / "part", tensors)
    with pytest.raises(ValueError, match=r"missing keys \(1\): bert.pooler.dense.bias"):
        build_transformer_model(checkpoint_path=d, with_pool=True)


def test_unused_checkpoint_keys_are_refused_unless_skipped(bert_dir, tmp_path):
    """A fine-tuned classifier's keys: refused with the list; strict=False or ignore= load the
    rest and report what they skipped."""
    tensors = load_file(str(bert_dir / "model.safetensors"))
    tensors["classifier.weight"] = torch.zeros(2, 16)
    tensors["classifier.bias"] = torch.zeros(2)
    d = _copy(bert_dir, tmp_path / "cls", tensors)
    with pytest.raises(ValueError, match=r"unexpected keys \(2;.*classifier.bias, "
                       r"classifier.weight.*strict=False.*ignore="):
        build_transformer_model(checkpoint_path=d)
    for kwargs in ({"strict": False}, {"ignore": r"^classifier\."}, {"ignore": ["classifier"]}):
        model = build_transformer_model(checkpoint_path=d, **kwargs)
        assert sorted(model.load_report.skipped) == ["classifier.bias", "classifier.weight"]
        assert "classifier.weight" in model.load_report.summary()
        ref = build_transformer_model(checkpoint_path=bert_dir)
        ids = torch.tensor([[2, 5, 7, 3]])
        torch.testing.assert_close(model(ids)[0], ref(ids)[0])
    with pytest.raises(ValueError, match="unexpected keys"):
        build_transformer_model(checkpoint_path=d, ignore="nothing-matches")
    with pytest.raises(ValueError, match="not a valid regular expression"):
        build_transformer_model(checkpoint_path=d, ignore="(")


def test_strict_false_never_excuses_a_missing_weight(bert_dir, tmp_path):
    tensors = load_file(str(bert_dir / "model.safetensors"))
    del tensors["encoder.layer.0.output.dense.bias"]
    d = _copy(bert_dir, tmp_path / "m", tensors)
    with pytest.raises(ValueError, match="missing keys"):
        build_transformer_model(checkpoint_path=d, strict=False)


def test_shape_mismatch_raises(bert_dir):
    cfg = {**json.loads((bert_dir / "config.json").read_text()), "intermediate_size": 32}
    with pytest.raises(
        ValueError, match=r"before building.*intermediate.dense.weight \[24, 16\]"
    ):
        build_transformer_model(cfg, bert_dir / "model.safetensors")


def test_tampered_fixed_buffer_raises(tmp_path):
    hf = transformers.RoFormerModel(transformers.RoFormerConfig(**TINY))
    save_hf(hf, tmp_path / "ok")
    tensors = load_file(str(tmp_path / "ok" / "model.safetensors"))
    tensors["encoder.embed_positions.weight"] = tensors["encoder.embed_positions.weight"] + 0.1
    d = _copy(tmp_path / "ok", tmp_path / "bad", tensors)
    with pytest.raises(ValueError, match="embed_positions.weight: differs from the rotary table"):
        build_transformer_model(checkpoint_path=d, model="roformer")


def test_guess_family():
    assert guess_family(["transformer.h.0.attn.c_attn.weight"]) == "gpt2"
    assert guess_family(["encoder.block.0.layer.0.SelfAttention.q.weight"]) == "t5"
    assert guess_family(["bert.embeddings.position_embeddings.weight"]) == "bert"
    assert guess_family(["h.0.ln0.weight"]) == "gpt2_ml"
    assert guess_family(["foo"]) is None


def test_missing_paths_raise(tmp_path):
    with pytest.raises(ValueError, match="config_path, checkpoint_path"):
        build_transformer_model()
    with pytest.raises(ValueError, match="no weights file"):
        build_transformer_model(TINY, tmp_path)
    with pytest.raises(ValueError, match="no config file beside the checkpoint"):
        build_transformer_model(checkpoint_path=tmp_path)


def test_inputs_are_not_modified():
    model = build_transformer_model(TINY, application="unilm")
    ids = torch.randint(1, 40, (2, 6))
    seg = torch.tensor([[0, 0, 0, 1, 1, 1]] * 2)
    mask = torch.ones(2, 6, dtype=torch.long)
    copies = [t.clone() for t in (ids, seg, mask)]
    with torch.no_grad():
        model(ids, seg, attention_mask=mask, cache=model.new_cache())
    for a, b in zip(copies, (ids, seg, mask)):
        assert torch.equal(a, b)


def test_fairseq_roberta_layout_is_refused(tmp_path):
    hf = transformers.RobertaModel(transformers.RobertaConfig(**TINY))
    save_hf(hf, tmp_path)
    with pytest.raises(ValueError, match="RobertaModel config"):
        build_transformer_model(checkpoint_path=tmp_path, model="roberta")
    tensors = load_file(str(tmp_path / "model.safetensors"))
    d = _copy(
        tmp_path,
        tmp_path / "prefixed",
        {f"roberta.{k}": v for k, v in tensors.items()},
        config=TINY,
    )
    with pytest.raises(ValueError, match="RobertaModel"):
        build_transformer_model(checkpoint_path=d, model="roberta")


def test_random_init_is_bert_style_and_keeps_cln_zero():
    model = build_transformer_model({**TINY, "initializer_range": 0.05}, layer_norm_cond_size=3)
    assert abs(model.embeddings.token.weight.std().item() - 0.05) < 0.01
    assert model.layers[0].ffn.fc1.bias.abs().max() == 0
    assert model.layers[0].attn_norm.cond_scale.weight.abs().max() == 0
    with pytest.raises(ValueError, match="need a checkpoint"):
        build_transformer_model(TINY, keep_tokens=[0, 1])
