"""Model flags: conditional LayerNorm, hierarchical positions, keep_tokens, compound_tokens."""

from __future__ import annotations

import pytest
import torch
import transformers

from kexue.models import build_transformer_model

from ._hf import max_diff, padded_batch, randomize, save_hf

TINY = dict(
    vocab_size=40,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=48,
    max_position_embeddings=16,
    type_vocab_size=2,
)


@pytest.fixture(scope="module")
def mlm_dir(tmp_path_factory):
    torch.manual_seed(0)
    hf = transformers.BertForMaskedLM(transformers.BertConfig(**TINY))
    randomize(hf)
    hf.tie_weights()
    return save_hf(hf, tmp_path_factory.mktemp("mlm"))


def test_conditional_layernorm_starts_as_plain_layernorm(mlm_dir):
    plain = build_transformer_model(checkpoint_path=mlm_dir, with_mlm=True)
    cond = build_transformer_model(checkpoint_path=mlm_dir, with_mlm=True, layer_norm_cond_size=8)
    assert any("cond_scale" in k for k in cond.load_report.initialised)
    ids, mask = padded_batch(40, [10, 7])
    c = torch.randn(2, 8)
    with torch.no_grad():
        a = plain(ids, attention_mask=mask).mlm_logits
        b = cond(ids, attention_mask=mask, condition=c).mlm_logits
        assert max_diff(a, b) <= 1e-5
        for m in cond.modules():
            if hasattr(m, "cond_scale"):
                m.cond_scale.weight.normal_(0, 0.1)
        c2 = cond(ids, attention_mask=mask, condition=c).mlm_logits
        c3 = cond(ids, attention_mask=mask, condition=torch.zeros(2, 8)).mlm_logits
    assert max_diff(a, c2) > 1e-3  # the condition now matters
    assert max_diff(a, c3) <= 1e-5  # a zero condition is plain LN whatever W_g is


def test_conditional_layernorm_requires_the_condition(mlm_dir):
    cond = build_transformer_model(checkpoint_path=mlm_dir, layer_norm_cond_size=8)
    with pytest.raises(ValueError, match="condition"):
        cond(torch.randint(1, 40, (1, 4)))


def test_hierarchical_positions_extend_and_agree_within_range(mlm_dir):
    plain = build_transformer_model(checkpoint_path=mlm_dir)
    hier = build_transformer_model(checkpoint_path=mlm_dir, hierarchical_position=True)
    short = torch.randint(1, 40, (2, 12))
    long = torch.randint(1, 40, (2, 50))
    with torch.no_grad():
        assert max_diff(plain(short).hidden, hier(short).hidden) <= 1e-6
        out = hier(long).hidden
        with pytest.raises(ValueError, match="hierarchical_position"):
            plain(long)
    assert out.shape == (2, 50, 32) and torch.isfinite(out).all()
    # the extended embedding of position i*n + j is alpha u_i + (1 - alpha) u_j
    p = hier.embeddings.position.weight.detach().double()
    u = (p - 0.4 * p[:1]) / 0.6
    from kexue.layers.positions import hierarchical_positions

    got = hierarchical_positions(p, torch.tensor([37]))
    assert max_diff(got[0], 0.4 * u[2] + 0.6 * u[5]) <= 1e-12


def test_keep_tokens_selects_rows_of_embedding_and_mlm_bias(mlm_dir):
    full = build_transformer_model(checkpoint_path=mlm_dir, with_mlm=True)
    keep = [0, 5, 3, 17, 39, 2]
    small = build_transformer_model(checkpoint_path=mlm_dir, with_mlm=True, keep_tokens=keep)
    assert small.vocab_size == len(keep)
    assert torch.equal(small.embeddings.token.weight, full.embeddings.token.weight[keep])
    assert torch.equal(small.mlm.bias, full.mlm.bias[keep])
    ids = torch.tensor([[1, 2, 3, 4]])  # new ids -> old ids 5, 3, 17, 39
    with torch.no_grad():
        a = small(ids).mlm_logits
        b = full(torch.tensor([[keep[i] for i in ids[0]]])).mlm_logits[..., keep]
    assert max_diff(a, b) <= 1e-5


def test_compound_tokens_are_exact_means(mlm_dir):
    full = build_transformer_model(checkpoint_path=mlm_dir, with_mlm=True)
    compound = [[5, 6], [7, 8, 9], [11]]
    model = build_transformer_model(
        checkpoint_path=mlm_dir, with_mlm=True, compound_tokens=compound
    )
    assert model.vocab_size == 40 + 3
    e, b = full.embeddings.token.weight.double(), full.mlm.bias.double()
    for r, ids in enumerate(compound):
        row = model.embeddings.token.weight[40 + r].double()
        assert max_diff(row, e[ids].mean(0)) <= 1e-7
        assert max_diff(model.mlm.bias[40 + r].double(), b[ids].mean()) <= 1e-7
    assert torch.equal(model.embeddings.token.weight[:40], full.embeddings.token.weight)


def test_compound_tokens_index_the_original_vocabulary(mlm_dir):
    """With keep_tokens, compound ids still name ORIGINAL rows (kexue.text.wobert's format)."""
    full = build_transformer_model(checkpoint_path=mlm_dir, with_mlm=True)
    keep = [0, 10, 20, 30]
    model = build_transformer_model(
        checkpoint_path=mlm_dir, with_mlm=True, keep_tokens=keep, compound_tokens=[[10, 35]]
    )
    assert model.vocab_size == 5
    e, b = full.embeddings.token.weight.double(), full.mlm.bias.double()
    assert max_diff(model.embeddings.token.weight[4].double(), (e[10] + e[35]) / 2) <= 1e-7
    assert max_diff(model.mlm.bias[4].double(), (b[10] + b[35]) / 2) <= 1e-7


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(keep_tokens=[0, 40]), "keep_tokens"),
        (dict(compound_tokens=[[]]), "at least one"),
        (dict(compound_tokens=[[1, 99]]), "compound_tokens"),
    ],
)
def test_bad_vocab_options_raise(mlm_dir, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_transformer_model(checkpoint_path=mlm_dir, **kwargs)
