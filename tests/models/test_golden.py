"""NEZHA, GPT2_ML and RealFormer against the golden tensors of tests/models/golden/.

Those have no class in transformers 5; the goldens (float64) come from transformers 4.57.6
(NEZHA) and float64 NumPy references (GPT2_ML, RealFormer), see golden/README.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from kexue.models import build_transformer_model

from ._hf import max_diff

GOLDEN = Path(__file__).parent / "golden"


def _io(name):
    return load_file(str(GOLDEN / name / "io.safetensors"))


def test_nezha_model_matches_golden():
    io = _io("nezha")
    model = build_transformer_model(checkpoint_path=GOLDEN / "nezha", model="nezha", with_pool=True)
    with torch.no_grad():
        out = model(io["token_ids"], io["segment_ids"], attention_mask=io["attention_mask"])
    assert max_diff(out.hidden, io["last_hidden_state"]) <= 1e-5
    assert max_diff(out.pooled, io["pooler_output"]) <= 1e-5


def test_nezha_mlm_matches_golden():
    io = _io("nezha_mlm")
    model = build_transformer_model(
        checkpoint_path=GOLDEN / "nezha_mlm", model="nezha", with_mlm=True
    )
    with torch.no_grad():
        out = model(io["token_ids"], io["segment_ids"], attention_mask=io["attention_mask"])
    assert max_diff(out.mlm_logits, io["logits"]) <= 1e-5


def test_nezha_clipping_matters():
    """Changing K changes the output: the golden (K=4, length 12) exercises the clip."""
    io = _io("nezha")
    model = build_transformer_model(
        checkpoint_path=GOLDEN / "nezha", model="nezha", max_relative_position=8
    )
    with torch.no_grad():
        out = model(io["token_ids"], io["segment_ids"], attention_mask=io["attention_mask"])
    assert max_diff(out.hidden, io["last_hidden_state"]) > 1e-3


@pytest.mark.parametrize("application, key", [("lm", "logits"), ("encoder", "last_hidden_state")])
def test_gpt2_ml_matches_golden(application, key):
    io = _io("gpt2_ml")
    model = build_transformer_model(
        checkpoint_path=GOLDEN / "gpt2_ml", model="gpt2_ml", application=application
    )
    with torch.no_grad():
        out = model(io["token_ids"], attention_mask=io["attention_mask"])
    assert max_diff(out[key], io[key]) <= 1e-5  # by the transformers name


def test_realformer_matches_golden():
    io = _io("realformer")
    model = build_transformer_model(
        checkpoint_path=GOLDEN / "realformer", with_pool=True, residual_attention_scores=True
    )
    running = []
    for layer in model.layers:
        layer.attn.register_forward_hook(lambda m, a, o: running.append(o[1]))
    with torch.no_grad():
        out = model(io["token_ids"], io["segment_ids"], attention_mask=io["attention_mask"])
    assert max_diff(out.hidden, io["last_hidden_state"]) <= 1e-5
    assert max_diff(out.pooled, io["pooler_output"]) <= 1e-5
    assert max_diff(torch.stack(running), io["scores"]) <= 1e-5


def test_realformer_golden_differs_from_vanilla():
    io = _io("realformer")
    model = build_transformer_model(checkpoint_path=GOLDEN / "realformer")
    with torch.no_grad():
        out = model(io["token_ids"], io["segment_ids"], attention_mask=io["attention_mask"])
    assert max_diff(out.hidden, io["last_hidden_state"]) > 1e-3


def test_nezha_stored_relative_table_is_verified(tmp_path):
    """A checkpoint that stores NEZHA's fixed table as a buffer gets it checked, not ignored."""
    import json

    from safetensors.torch import save_file

    from kexue.layers.positions import nezha_relative_table

    tensors = load_file(str(GOLDEN / "nezha" / "model.safetensors"))
    config = json.loads((GOLDEN / "nezha" / "config.json").read_text())
    n, k = 12, config["max_relative_position"]
    pos = torch.arange(n)
    rel = (pos[None, :] - pos[:, None]).clamp(-k, k) + k
    table = nezha_relative_table(k, config["hidden_size"] // config["num_attention_heads"])[rel]
    key = "encoder.layer.0.attention.self.relative_positions_encoding.positions_encoding"
    for name, value, ok in (("good", table, True), ("bad", table.flip(0), False)):
        d = tmp_path / name
        d.mkdir()
        save_file({**tensors, key: value.contiguous()}, str(d / "model.safetensors"))
        (d / "config.json").write_text(json.dumps(config))
        if ok:
            model = build_transformer_model(checkpoint_path=d, model="nezha")
            assert key in model.load_report.verified
        else:
            with pytest.raises(ValueError, match="differs from the NEZHA relative table"):
                build_transformer_model(checkpoint_path=d, model="nezha")
