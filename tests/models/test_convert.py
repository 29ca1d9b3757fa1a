"""convert_checkpoint: TF -> HF-format directory through the same key maps, heads kept, slots
dropped; the converted directory loads to exactly the model loaded from the TF checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from kexue.models import build_transformer_model
from kexue.models.convert import convert_checkpoint

from ._hf import max_diff, padded_batch

FIXTURES = Path(__file__).parent / "tf_fixtures"
CASES = [
    ("bert_mlm_nsp", "bert", dict(with_pool=True, with_nsp=True, with_mlm=True), "encoder"),
    ("roformer_sim", "roformer", dict(with_pool="linear", with_mlm=True), "encoder"),
    ("nezha", "nezha", dict(with_pool=True, with_mlm=True), "encoder"),
    ("bert_half", "bert", {}, "encoder"),
    ("gpt2_ml", "gpt2_ml", {}, "lm"),
    ("mt5", "mt5.1.1", {}, "encoder"),
]


@pytest.mark.parametrize("name, family, options, application", CASES)
def test_converted_directory_loads_to_the_same_model(tmp_path, name, family, options,
                                                     application):
    seen = []
    out = convert_checkpoint(FIXTURES / name, tmp_path / "hf", model=family,
                             progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] > 0  # progress reaches the total
    a = build_transformer_model(checkpoint_path=FIXTURES / name, model=family,
                                application=application, **options)
    b = build_transformer_model(checkpoint_path=out, model=family, application=application,
                                **options)
    assert not b.load_report.unused and not b.load_report.initialised
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k


def test_slots_are_dropped_and_heads_kept(tmp_path):
    out = convert_checkpoint(FIXTURES / "bert_mlm_nsp", tmp_path / "o")
    from safetensors import safe_open

    with safe_open(str(out / "model.safetensors"), "pt") as f:
        keys = set(f.keys())
    assert "cls.seq_relationship.weight" in keys and "bert.pooler.dense.weight" in keys
    assert not any("global_step" in k or "adam" in k for k in keys)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["architectures"] == ["BertForPreTraining"] and "with_pool" not in cfg


def test_half_output_and_existing_destination(tmp_path):
    out = convert_checkpoint(FIXTURES / "roformer", tmp_path / "o", model="roformer",
                             dtype="float16")
    m = build_transformer_model(checkpoint_path=out, model="roformer", with_mlm=True)
    ref = build_transformer_model(checkpoint_path=FIXTURES / "roformer", model="roformer",
                                  with_mlm=True)
    ids, mask = padded_batch(24, [6, 4])
    with torch.no_grad():
        a, b = m(ids, attention_mask=mask).hidden, ref(ids, attention_mask=mask).hidden
        assert max_diff(a, b) < 0.05
    with pytest.raises(FileExistsError):
        convert_checkpoint(FIXTURES / "roformer", out, model="roformer")
    convert_checkpoint(FIXTURES / "roformer", out, model="roformer", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_converting_an_hf_directory_again_changes_nothing(tmp_path):
    first = convert_checkpoint(FIXTURES / "mt5", tmp_path / "a", model="mt5.1.1")
    second = convert_checkpoint(first, tmp_path / "b", model="mt5.1.1")
    from safetensors.torch import load_file

    a, b = load_file(str(first / "model.safetensors")), load_file(str(second / "model.safetensors"))
    assert sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((first / "config.json").read_text()) == json.loads(
        (second / "config.json").read_text())
