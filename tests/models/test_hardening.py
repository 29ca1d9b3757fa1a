"""Hardening of model loading (issue #25 items 6, 7, 11 and the model parts of 13): each test
failed on the code before the checkpoints registry (commit 52597f1)."""

from __future__ import annotations

import json
import math
import os

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from kexue.models import build_transformer_model

TINY = dict(
    vocab_size=100,
    hidden_size=8,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=12,
    max_position_embeddings=16,
)
T5_TINY = dict(vocab_size=30, d_model=8, d_kv=4, d_ff=12, num_layers=1, num_heads=2)


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    """A tiny BERT written by transformers (independent of the code under test)."""
    import transformers

    path = tmp_path_factory.mktemp("bert")
    torch.manual_seed(0)
    config = transformers.BertConfig(**TINY)
    transformers.BertModel(config, add_pooling_layer=False).save_pretrained(path)
    return path


def _tensors(path):
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


# ----------------------------------------------------------------------------- item 6


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool, torch.complex64])
def test_non_float_tensor_is_refused(bert_dir, tmp_path, dtype):
    tensors = _tensors(bert_dir)
    key = "encoder.layer.0.attention.self.query.weight"
    tensors[key] = torch.ones_like(tensors[key]).to(dtype)
    (tmp_path / "config.json").write_text((bert_dir / "config.json").read_text())
    torch.save(tensors, tmp_path / "pytorch_model.bin")
    with pytest.raises(ValueError, match=rf"{key} holds torch\.{str(dtype)[6:]}.*float-to-float"):
        build_transformer_model(checkpoint_path=tmp_path)


def test_header_dtype_corrupted_from_f32_to_i32_is_refused(bert_dir, tmp_path):
    raw = (bert_dir / "model.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    key = "embeddings.word_embeddings.weight"
    assert header[key]["dtype"] == "F32"
    header[key]["dtype"] = "I32"
    new = json.dumps(header, separators=(",", ":")).encode()
    new += b" " * (n - len(new))
    assert len(new) == n
    (tmp_path / "model.safetensors").write_bytes(raw[:8] + new + raw[8 + n :])
    (tmp_path / "config.json").write_text((bert_dir / "config.json").read_text())
    with pytest.raises(ValueError, match=rf"{key} holds torch\.int32"):
        build_transformer_model(checkpoint_path=tmp_path)


def test_half_precision_still_loads(bert_dir, tmp_path):
    tensors = {k: v.half() for k, v in _tensors(bert_dir).items()}
    save_file(tensors, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text((bert_dir / "config.json").read_text())
    m = build_transformer_model(checkpoint_path=tmp_path)
    assert m.embeddings.token.weight.dtype == torch.float32


# ----------------------------------------------------------------------------- item 7


@pytest.mark.parametrize(
    "field, value",
    [
        ("layer_norm_eps", 0.0),
        ("layer_norm_eps", -1e-12),
        ("layer_norm_eps", math.nan),
        ("layer_norm_eps", math.inf),
        ("hidden_size", -8),
        ("hidden_size", 8.5),
        ("max_position_embeddings", 0),
        ("type_vocab_size", -1),
        ("hidden_dropout_prob", 1.5),
        ("hidden_act", "nope"),
    ],
)
def test_bert_config_field_is_validated_by_name(field, value):
    with pytest.raises(ValueError, match=rf"bert config: {field} must be"):
        build_transformer_model({**TINY, field: value})


@pytest.mark.parametrize(
    "field, value, name",
    [
        ("num_decoder_layers", -1, "num_decoder_layers"),
        ("relative_attention_num_buckets", 0, "relative_attention_num_buckets"),
        ("relative_attention_max_distance", 0, "relative_attention_max_distance"),
        ("layer_norm_epsilon", 0.0, "layer_norm_eps"),
        ("d_kv", 2.5, "head_size"),
    ],
)
def test_t5_config_field_is_validated_by_name(field, value, name):
    with pytest.raises(ValueError, match=rf"t5 config: {name} must be"):
        build_transformer_model({**T5_TINY, field: value}, model="t5")


def test_other_families_validate_too():
    gpt = dict(vocab_size=10, n_embd=8, n_layer=1, n_head=2)
    with pytest.raises(ValueError, match="gpt2 config: layer_norm_eps must be"):
        build_transformer_model({**gpt, "layer_norm_epsilon": math.nan}, model="gpt2")
    with pytest.raises(ValueError, match="nezha config: max_relative_position must be"):
        build_transformer_model({**TINY, "max_relative_position": 0}, model="nezha")


# ----------------------------------------------------------------------------- item 11


class _NoBigAllocation:
    """Fail (instead of allocating) when a real (non-meta) embedding of >= 10**6 rows or more
    than 200 dense layers are created."""

    def __init__(self, monkeypatch):
        self.linears = 0
        emb_init, lin_init = nn.Embedding.__init__, nn.Linear.__init__

        def embedding(module, num, dim, *args, **kwargs):
            if num >= 10**6 and torch.get_default_device().type != "meta":
                raise AssertionError(f"allocated an embedding of {num} rows")
            emb_init(module, num, dim, *args, **kwargs)

        def linear(module, *args, **kwargs):
            self.linears += 1
            if self.linears > 200:
                raise AssertionError("built more than 200 dense layers")
            lin_init(module, *args, **kwargs)

        monkeypatch.setattr(nn.Embedding, "__init__", embedding)
        monkeypatch.setattr(nn.Linear, "__init__", linear)


def test_huge_vocab_against_a_small_checkpoint_fails_before_allocating(bert_dir, monkeypatch):
    cfg = {**json.loads((bert_dir / "config.json").read_text()), "vocab_size": 10**8}
    _NoBigAllocation(monkeypatch)
    with pytest.raises(ValueError, match=r"before building.*word_embeddings.weight \[100, 8\]"):
        build_transformer_model(cfg, bert_dir / "model.safetensors")


def test_huge_layer_count_fails_before_allocating(bert_dir, monkeypatch):
    cfg = {**json.loads((bert_dir / "config.json").read_text()), "num_hidden_layers": 10**9}
    _NoBigAllocation(monkeypatch)
    with pytest.raises(ValueError, match=r"layer count.*num_hidden_layers.: 1000000000"):
        build_transformer_model(cfg, bert_dir / "model.safetensors")


# ----------------------------------------------------------------------------- item 13


def test_missing_checkpoint_path_says_so(tmp_path):
    with pytest.raises(ValueError) as info:
        build_transformer_model(checkpoint_path=tmp_path / "nope")
    assert "does not exist" in str(info.value) and "is a file" not in str(info.value)


def test_symlink_loop_says_so(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(ValueError) as info:
        build_transformer_model(checkpoint_path=tmp_path / "a")
    assert "symbolic link loop" in str(info.value) and "is a file" not in str(info.value)


class _Evil:
    def __reduce__(self):
        return (print, ("this pickle ran code",))


def test_blocked_pickle_is_reported_as_blocked(bert_dir, tmp_path):
    tensors = dict(_tensors(bert_dir))
    (tmp_path / "config.json").write_text((bert_dir / "config.json").read_text())
    torch.save({**tensors, "extra": _Evil()}, tmp_path / "pytorch_model.bin")
    with pytest.raises(ValueError) as info:
        build_transformer_model(checkpoint_path=tmp_path)
    msg = str(info.value)
    assert "blocked" in msg and "weights_only=False" not in msg and "corrupt" not in msg


def test_out_of_vocab_ids_on_gpt2_and_t5_name_the_problem():
    gpt = build_transformer_model(dict(vocab_size=10, n_embd=8, n_layer=1, n_head=2),
                                  model="gpt2", application="lm")
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 10\).*vocabulary"):
        gpt(torch.tensor([[1, 10]]))
    t5 = build_transformer_model(dict(T5_TINY), model="t5")
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 30\)"):
        t5(torch.tensor([[1, 2]]), torch.tensor([[0, 31]]))
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 30\)"):
        t5(torch.tensor([[-1, 2]]), torch.tensor([[0, 3]]))
