"""GPT-2: parity with HF GPT2Model / GPT2LMHeadModel and the KV-cache contract."""

from __future__ import annotations

import pytest
import torch
import transformers

from kexue.models import KVCache, build_transformer_model

from ._hf import max_diff, padded_batch, randomize, save_hf

TINY = dict(vocab_size=67, n_embd=32, n_layer=2, n_head=4, n_positions=64)


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(
        transformers.GPT2Config(**TINY, bos_token_id=0, eos_token_id=0)
    )
    randomize(hf)
    hf.tie_weights()
    path = save_hf(hf, tmp_path_factory.mktemp("gpt2"))
    return path, hf


def _positions(mask):
    return (mask.cumsum(1) - 1).clamp(min=0)


def test_gpt2_lm_parity_with_left_padding(gpt2_dir):
    path, hf = gpt2_dir
    model = build_transformer_model(checkpoint_path=path, model="gpt2", application="lm")
    ids, mask = padded_batch(67, [9, 5, 7], left=True)
    pos = _positions(mask)
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask, position_ids=pos).logits
        out = model(ids, attention_mask=mask, position_ids=pos).logits
    real = mask.bool()
    assert out.shape == ref.shape
    assert max_diff(out[real], ref[real]) <= 1e-5


def test_gpt2_model_hidden_parity(gpt2_dir, tmp_path):
    _, hf_lm = gpt2_dir
    hf = transformers.GPT2Model(hf_lm.config)
    hf.load_state_dict(hf_lm.transformer.state_dict())
    save_hf(hf, tmp_path)
    model = build_transformer_model(checkpoint_path=tmp_path, model="gpt2", application="encoder")
    ids, mask = padded_batch(67, [8, 6], left=False)
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask).last_hidden_state
        out = model(ids, attention_mask=mask).hidden
    real = mask.bool()
    assert max_diff(out[real], ref[real]) <= 1e-5


def test_gpt2_cache_matches_full_forward_with_left_padding(gpt2_dir):
    path, _ = gpt2_dir
    model = build_transformer_model(checkpoint_path=path, model="gpt2", application="lm")
    ids, mask = padded_batch(67, [10, 6, 8], left=True)
    pos = _positions(mask)
    with torch.no_grad():
        full = model(ids, attention_mask=mask, position_ids=pos).logits
        cache = model.new_cache()
        assert isinstance(cache, KVCache) and cache.length == 0
        steps = [
            model(ids[:, :4], attention_mask=mask[:, :4], position_ids=pos[:, :4],
                  cache=cache).logits
        ]
        for t in range(4, ids.shape[1]):
            steps.append(
                model(
                    ids[:, t : t + 1],
                    attention_mask=mask[:, : t + 1],
                    position_ids=pos[:, t : t + 1],
                    cache=cache,
                ).logits
            )
        assert cache.length == ids.shape[1]
    step = torch.cat(steps, dim=1)
    real = mask.bool()
    assert max_diff(step[real], full[real]) <= 1e-5


def test_gpt2_cache_reorder_selects_rows(gpt2_dir):
    path, _ = gpt2_dir
    model = build_transformer_model(checkpoint_path=path, model="gpt2", application="lm")
    ids = torch.randint(1, 67, (3, 6))
    with torch.no_grad():
        cache = model.new_cache()
        model(ids[:, :5], cache=cache)
        cache.reorder(torch.tensor([2, 0]))
        step = model(ids[[2, 0], 5:], cache=cache).logits
        full = model(ids[[2, 0]]).logits
    assert max_diff(step[:, 0], full[:, 5]) <= 1e-5


def test_gpt2_causal_future_tokens_do_not_matter(gpt2_dir):
    path, _ = gpt2_dir
    model = build_transformer_model(checkpoint_path=path, model="gpt2", application="lm")
    ids = torch.randint(1, 67, (2, 8))
    other = ids.clone()
    other[:, 5:] = torch.randint(1, 67, (2, 3))
    with torch.no_grad():
        a, b = model(ids).logits, model(other).logits
    assert max_diff(a[:, :5], b[:, :5]) == 0.0
    assert max_diff(a[:, 5:], b[:, 5:]) > 1e-3


def test_gpt2_rejects_segment_ids(gpt2_dir):
    path, _ = gpt2_dir
    model = build_transformer_model(checkpoint_path=path, model="gpt2", application="lm")
    ids = torch.randint(1, 67, (1, 4))
    with pytest.raises(ValueError, match="segment"):
        model(ids, torch.zeros_like(ids))
