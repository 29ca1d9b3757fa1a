"""RoFormer: parity with HF RoFormerModel (interleaved rotary), linear pooler, rotary table."""

from __future__ import annotations

import pytest
import torch
import transformers

from kexue.layers.positions import apply_rotary, rotary_tables
from kexue.models import build_transformer_model

from ._hf import max_diff, padded_batch, randomize, save_hf

TINY = dict(
    vocab_size=73,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=48,
    max_position_embeddings=64,
    type_vocab_size=2,
)


@pytest.fixture(scope="module")
def roformer_dir(tmp_path_factory):
    torch.manual_seed(0)
    hf = transformers.RoFormerModel(transformers.RoFormerConfig(**TINY)).eval()
    randomize(hf)
    with torch.no_grad():  # keep the fixed sinusoid table the model was built with
        hf.encoder.embed_positions.weight.copy_(hf.encoder.embed_positions.create_weight())
    return save_hf(hf, tmp_path_factory.mktemp("roformer")), hf


def test_roformer_model_parity(roformer_dir):
    path, hf = roformer_dir
    model = build_transformer_model(checkpoint_path=path, model="roformer")
    ids, mask = padded_batch(73, [11, 6, 9])
    seg = (torch.arange(11) >= 4).long().expand(3, 11) * mask
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=seg, attention_mask=mask).last_hidden_state
        out = model(ids, seg, attention_mask=mask).hidden
    assert max_diff(out, ref) <= 1e-5
    assert any("embed_positions" in k for k in model.load_report.verified)


def test_roformer_linear_pooler_is_dense_on_cls(roformer_dir):
    path, hf = roformer_dir
    with pytest.warns(UserWarning, match=r"head\(s\) \['pooler'\]"):
        model = build_transformer_model(checkpoint_path=path, model="roformer",
                                        with_pool="linear")
    assert set(model.load_report.initialised) == {"pooler.dense.weight", "pooler.dense.bias"}
    ids, mask = padded_batch(73, [7, 5])
    with torch.no_grad():
        out = model(ids, attention_mask=mask)
        cls = hf(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
        ref = model.pooler.dense(cls)
    assert max_diff(out.pooled, ref) <= 1e-5
    assert (out.pooled.abs() > 1).any()  # no tanh squashing


def test_rotary_scores_depend_only_on_relative_position():
    torch.manual_seed(0)
    cos, sin = rotary_tables(40, 16)
    q, k = torch.randn(16).double(), torch.randn(16).double()

    def score(m, n):
        qm = apply_rotary(q.view(1, 1, 1, 16), cos[m], sin[m])
        kn = apply_rotary(k.view(1, 1, 1, 16), cos[n], sin[n])
        return (qm * kn).sum().item()

    assert abs(score(3, 1) - score(30, 28)) < 1e-10
    assert abs(score(3, 1) - score(3, 2)) > 1e-6


def test_interleaved_pairing_differs_from_rotate_half():
    torch.manual_seed(0)
    x = torch.randn(1, 1, 1, 8).double()
    cos, sin = rotary_tables(8, 8)
    ours = apply_rotary(x, cos[5], sin[5])
    # rotate-half (GPT-NeoX / LLaMA) pairs i with i + d/2
    half_cos = torch.cat([cos[5, 0::2], cos[5, 0::2]])
    half_sin = torch.cat([sin[5, 0::2], sin[5, 0::2]])
    rot = torch.cat([-x[..., 4:], x[..., :4]], dim=-1)
    theirs = x * half_cos + rot * half_sin
    assert max_diff(ours, theirs) > 1e-3
    assert abs(ours.norm() - x.norm()) < 1e-12


def test_rotary_tables_extend_beyond_precomputed(roformer_dir):
    path, _ = roformer_dir
    model = build_transformer_model(checkpoint_path=path, model="roformer")
    pos = torch.tensor([[70, 71]])
    cos, sin = model.rotary(pos, torch.float32)
    ref_cos, ref_sin = rotary_tables(72, 8)
    assert max_diff(cos[0, 0], ref_cos[70:72]) < 1e-6


@pytest.mark.parametrize("model_name", ["roformer", "nezha"])
@pytest.mark.parametrize("application", ["lm", "unilm"])
def test_relative_families_honour_the_cache(model_name, application):
    """Rotary and NEZHA positions follow the positions of cached keys (left padding)."""
    torch.manual_seed(0)
    cfg = dict(TINY, max_relative_position=3) if model_name == "nezha" else TINY
    model = build_transformer_model(cfg, model=model_name, application=application)
    ids, mask = padded_batch(73, [9, 5, 7], left=True)
    pos = (mask.cumsum(1) - 1).clamp(min=0)
    seg = torch.zeros_like(ids)
    seg[:, 5:] = 1
    with torch.no_grad():
        full = model(ids, seg, attention_mask=mask, position_ids=pos).logits
        cache = model.new_cache()
        steps = [model(ids[:, :5], seg[:, :5], attention_mask=mask[:, :5],
                       position_ids=pos[:, :5], cache=cache).logits]
        for t in range(5, 9):
            steps.append(model(ids[:, t : t + 1], seg[:, t : t + 1],
                               attention_mask=mask[:, : t + 1], position_ids=pos[:, t : t + 1],
                               cache=cache).logits)
    real = mask.bool()
    assert max_diff(torch.cat(steps, 1)[real], full[real]) <= 1e-5


def test_roformer_mlm_with_factorised_embeddings(tmp_path):
    """embedding_size != hidden_size: embeddings_project in, the MLM transform maps back."""
    torch.manual_seed(0)
    hf = transformers.RoFormerForMaskedLM(
        transformers.RoFormerConfig(**{**TINY, "embedding_size": 16})
    ).eval()
    randomize(hf)
    with torch.no_grad():
        hf.roformer.encoder.embed_positions.weight.copy_(
            hf.roformer.encoder.embed_positions.create_weight()
        )
    hf.tie_weights()
    save_hf(hf, tmp_path)
    model = build_transformer_model(checkpoint_path=tmp_path, model="roformer", with_mlm=True)
    ids, mask = padded_batch(73, [8, 5])
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask).logits
        out = model(ids, attention_mask=mask).mlm_logits
    assert max_diff(out, ref) <= 1e-5
