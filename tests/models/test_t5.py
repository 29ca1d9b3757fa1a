"""T5.1.1: parity with HF T5Model / T5ForConditionalGeneration and the KV-cache contract."""

from __future__ import annotations

import json

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file

from kexue.models import build_transformer_model

from ._hf import max_diff, padded_batch, randomize, save_hf

TINY = dict(
    vocab_size=61,
    d_model=32,
    d_kv=8,
    d_ff=48,
    num_layers=2,
    num_decoder_layers=3,
    num_heads=4,
    relative_attention_num_buckets=8,
    relative_attention_max_distance=16,
    feed_forward_proj="gated-gelu",
    decoder_start_token_id=0,
)


@pytest.fixture(scope="module")
def t5_model_dir(tmp_path_factory):
    torch.manual_seed(0)
    hf = transformers.T5Model(transformers.T5Config(**TINY, tie_word_embeddings=False))
    randomize(hf)
    hf.tie_weights()
    return save_hf(hf, tmp_path_factory.mktemp("t5")), hf


def test_t5_model_parity_encoder_and_decoder(t5_model_dir):
    path, hf = t5_model_dir
    model = build_transformer_model(checkpoint_path=path, model="t5", with_lm=False)
    src, src_mask = padded_batch(61, [7, 4, 6])
    dec, _ = padded_batch(61, [5, 5, 5])
    with torch.no_grad():
        ref = hf(input_ids=src, attention_mask=src_mask, decoder_input_ids=dec)
        enc = model.encode(src, src_mask)
        out = model.decode(dec, enc, encoder_mask=src_mask)
    real = src_mask.bool()
    assert max_diff(enc[real], ref.encoder_last_hidden_state[real]) <= 1e-5
    assert max_diff(out, ref.last_hidden_state) <= 1e-5


def test_t5_untied_lm_head(t5_model_dir, tmp_path):
    """T5.1.1 has an untied head and no output scaling: logits = decoder_hidden @ W_lm^T."""
    path, hf = t5_model_dir
    tensors = load_file(str(path / "model.safetensors"))
    lm = torch.randn(61, 32) * 0.2
    tensors["lm_head.weight"] = lm
    save_file(tensors, str(tmp_path / "model.safetensors"))
    config = json.loads((path / "config.json").read_text())
    config["tie_word_embeddings"] = False
    config["scale_decoder_outputs"] = False
    (tmp_path / "config.json").write_text(json.dumps(config))
    model = build_transformer_model(checkpoint_path=tmp_path, model="t5")
    src, src_mask = padded_batch(61, [6, 3])
    dec = torch.randint(1, 61, (2, 4))
    with torch.no_grad():
        hidden = hf(input_ids=src, attention_mask=src_mask, decoder_input_ids=dec).last_hidden_state
        out = model(src, dec, attention_mask=src_mask)
    assert max_diff(out.logits, hidden @ lm.T) <= 1e-5
    assert max_diff(out.hidden, hidden) <= 1e-5


def test_t5_conditional_generation_parity(tmp_path):
    torch.manual_seed(1)
    hf = transformers.T5ForConditionalGeneration(transformers.T5Config(**TINY))
    randomize(hf)
    hf.tie_weights()
    save_hf(hf, tmp_path)
    model = build_transformer_model(checkpoint_path=tmp_path, model="t5")
    src, src_mask = padded_batch(61, [5, 8])
    dec = torch.randint(1, 61, (2, 6))
    with torch.no_grad():
        ref = hf(input_ids=src, attention_mask=src_mask, decoder_input_ids=dec).logits
        out = model(src, dec, attention_mask=src_mask)
    assert max_diff(out.logits, ref) <= 1e-5


def test_t5_cache_matches_full_decode_with_left_padded_source(t5_model_dir):
    path, _ = t5_model_dir
    model = build_transformer_model(checkpoint_path=path, model="t5", with_lm=False)
    src, src_mask = padded_batch(61, [8, 3, 5], left=True)
    dec = torch.randint(1, 61, (3, 7))
    with torch.no_grad():
        enc = model.encode(src, src_mask)
        full = model.decode(dec, enc, encoder_mask=src_mask)
        cache = model.new_cache()
        steps = [model.decode(dec[:, :2], enc, encoder_mask=src_mask, cache=cache)]
        for t in range(2, dec.shape[1]):
            steps.append(model.decode(dec[:, t : t + 1], enc, cache=cache))
        assert cache.length == dec.shape[1]
        assert all(kv is not None for kv in cache.cross)
    assert max_diff(torch.cat(steps, 1), full) <= 1e-5


def test_t5_cache_reorder_includes_cross_attention(t5_model_dir):
    path, _ = t5_model_dir
    model = build_transformer_model(checkpoint_path=path, model="t5", with_lm=False)
    src, src_mask = padded_batch(61, [6, 4, 5], left=True)
    dec = torch.randint(1, 61, (3, 4))
    index = torch.tensor([2, 2, 0])
    with torch.no_grad():
        enc = model.encode(src, src_mask)
        cache = model.new_cache()
        model.decode(dec[:, :3], enc, encoder_mask=src_mask, cache=cache)
        cache.reorder(index)
        step = model.decode(dec[index, 3:], enc[index], cache=cache)
        full = model.decode(dec[index], enc[index], encoder_mask=src_mask[index])
    assert max_diff(step[:, 0], full[:, 3]) <= 1e-5


def test_t5_missing_untied_head_is_fresh_and_warned(t5_model_dir, tmp_path):
    """The one load rule: an untied LM head the checkpoint (a T5Model) lacks is a head built
    fresh, named in the report and a warning (it used to be an error, unlike BERT's heads)."""
    path, _ = t5_model_dir
    config = json.loads((path / "config.json").read_text())
    config["tie_word_embeddings"] = False
    with pytest.warns(UserWarning, match=r"\['lm_head'\].*lm_head.weight"):
        model = build_transformer_model(config, path / "model.safetensors", model="t5")
    assert model.load_report.new_heads == ["lm_head"]
    assert set(model.load_report.initialised) == {"lm_head.weight"}
