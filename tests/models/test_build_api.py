"""The first-day model API of ``build_transformer_model``: the family from ``model_type``,
hub names refused with advice, ``dtype=``/``device=``, ``model.device``/``dtype``/
``num_parameters()``."""

from __future__ import annotations

import pytest
import torch

from kexue.models import build_transformer_model, save_pretrained

BERT = {"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 32, "max_position_embeddings": 32}
GPT2 = {"vocab_size": 40, "n_positions": 32, "n_embd": 16, "n_layer": 1, "n_head": 2}
T5 = {"vocab_size": 40, "d_model": 16, "d_kv": 8, "d_ff": 32, "num_layers": 1, "num_heads": 2}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    models = {"bert": build_transformer_model(BERT),
              "gpt2": build_transformer_model(GPT2, model="gpt2", application="lm"),
              "t5": build_transformer_model(T5, model="t5")}
    for name, m in models.items():
        save_pretrained(m, root / name)
    return root, models


@pytest.mark.parametrize("name", ["bert", "gpt2", "t5"])
def test_family_comes_from_model_type(saved, name):
    root, models = saved
    app = "lm" if name == "gpt2" else "encoder"
    net = build_transformer_model(checkpoint_path=root / name, application=app)
    assert type(net) is type(models[name])
    for (k, a), (_, b) in zip(net.state_dict().items(), models[name].state_dict().items(),
                              strict=True):
        torch.testing.assert_close(a, b, msg=k)


def test_an_explicit_family_that_disagrees_still_errors(saved):
    root, _ = saved
    with pytest.raises(ValueError, match="model_type='gpt2', but model='bert'"):
        build_transformer_model(checkpoint_path=root / "gpt2", model="bert")


def test_hub_name_says_downloading_is_unsupported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="model-hub name: kexue never downloads"):
        build_transformer_model(checkpoint_path="hfl/chinese-roberta-wwm-ext")
    with pytest.raises(ValueError, match="does not exist"):
        build_transformer_model(checkpoint_path=tmp_path / "missing_dir")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_dtype_and_device_at_build_time(saved, dtype):
    root, models = saved
    net = build_transformer_model(checkpoint_path=root / "bert", dtype=dtype, device="cpu")
    assert net.dtype == dtype and net.device == torch.device("cpu")
    assert all(p.dtype == dtype for p in net.parameters())
    ref = models["bert"].state_dict()["embeddings.token.weight"].to(dtype)
    torch.testing.assert_close(net.state_dict()["embeddings.token.weight"], ref)
    with pytest.raises(TypeError, match="floating-point"):
        build_transformer_model(BERT, dtype=torch.int8)


def test_num_parameters(saved):
    _, models = saved
    for m in models.values():
        assert m.num_parameters() == sum(p.numel() for p in m.parameters())
        assert m.dtype == torch.float32 and m.device.type == "cpu"
    bert = models["bert"]
    expected = sum(p.numel() for n, p in bert.named_parameters() if not n.startswith("layers."))
    for p in bert.layers.parameters():
        p.requires_grad_(False)
    assert bert.num_parameters(trainable_only=True) == expected
    for p in bert.layers.parameters():
        p.requires_grad_(True)
