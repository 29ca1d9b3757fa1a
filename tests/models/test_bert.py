"""BERT: parity with HF BertModel / BertForMaskedLM / BertForPreTraining, UniLM, caches."""

from __future__ import annotations

import pytest
import torch
import transformers

from kexue.models import EncoderOutput, build_transformer_model

from ._hf import max_diff, padded_batch, randomize, save_hf

TINY = dict(
    vocab_size=71,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=48,
    max_position_embeddings=40,
    type_vocab_size=2,
)


def _hf(cls, seed=0, **extra):
    torch.manual_seed(seed)
    model = cls(transformers.BertConfig(**TINY, **extra))
    randomize(model)
    model.tie_weights()
    return model.eval()


@pytest.fixture(scope="module")
def pretraining_dir(tmp_path_factory):
    hf = _hf(transformers.BertForPreTraining)
    return save_hf(hf, tmp_path_factory.mktemp("bert_pt")), hf


def _inputs(lengths=(9, 5, 7), left=False):
    ids, mask = padded_batch(71, list(lengths), left=left)
    seg = torch.zeros_like(ids)
    seg[:, 3:] = 1
    return ids, seg * mask, mask


def test_bert_model_parity(tmp_path):
    hf = _hf(transformers.BertModel)
    save_hf(hf, tmp_path)
    model = build_transformer_model(checkpoint_path=tmp_path, with_pool=True)
    ids, seg, mask = _inputs()
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=seg, attention_mask=mask)
        out = model(ids, seg, attention_mask=mask)
    assert isinstance(out, EncoderOutput)
    assert max_diff(out.hidden, ref.last_hidden_state) <= 1e-5
    assert max_diff(out.pooled, ref.pooler_output) <= 1e-5


def test_bert_plain_encoder_returns_hidden(pretraining_dir):
    path, hf = pretraining_dir
    model = build_transformer_model(checkpoint_path=path)
    ids, seg, mask = _inputs()
    with torch.no_grad():
        out = model(ids, seg, attention_mask=mask)
        ref = hf.bert(input_ids=ids, token_type_ids=seg, attention_mask=mask).last_hidden_state
    assert out.present() == ("hidden",) and len(out) == 1
    (out,) = out  # unpacks like a tuple
    assert isinstance(out, torch.Tensor) and out.shape == (3, 9, 32)
    assert max_diff(out, ref) <= 1e-5
    assert "cls.seq_relationship.weight" in model.load_report.unused


def test_bert_for_masked_lm_parity(tmp_path):
    hf = _hf(transformers.BertForMaskedLM, seed=3)
    save_hf(hf, tmp_path)
    model = build_transformer_model(checkpoint_path=tmp_path, with_mlm=True)
    ids, seg, mask = _inputs()
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=seg, attention_mask=mask).logits
        out = model(ids, seg, attention_mask=mask).mlm_logits
    assert max_diff(out, ref) <= 1e-5


def test_bert_for_pretraining_parity_mlm_and_nsp(pretraining_dir):
    path, hf = pretraining_dir
    model = build_transformer_model(checkpoint_path=path, with_mlm=True, with_nsp=True)
    ids, seg, mask = _inputs()
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=seg, attention_mask=mask)
        out = model(ids, seg, attention_mask=mask)
    assert max_diff(out.mlm_logits, ref.prediction_logits) <= 1e-5
    assert max_diff(out.nsp_logits, ref.seq_relationship_logits) <= 1e-5


def test_linear_pooler_drops_tanh(pretraining_dir):
    path, hf = pretraining_dir
    model = build_transformer_model(checkpoint_path=path, with_pool="linear")
    ids, seg, mask = _inputs()
    with torch.no_grad():
        out = model(ids, seg, attention_mask=mask)
        cls = hf.bert(input_ids=ids, token_type_ids=seg, attention_mask=mask).last_hidden_state[
            :, 0
        ]
        ref = hf.bert.pooler.dense(cls)
    assert max_diff(out.pooled, ref) <= 1e-5


def _unilm_3d(seg, mask):
    idx = seg.cumsum(1)
    allowed = (idx[:, None, :] <= idx[:, :, None]) & mask.bool()[:, None, :]
    return allowed[:, None]  # transformers 5 takes the per-example mask as 4-D (b, 1, q, k)


def test_unilm_matches_hf_with_equivalent_mask(pretraining_dir, tmp_path):
    _, hf_pt = pretraining_dir
    hf = transformers.BertForMaskedLM(hf_pt.config)
    hf.bert.load_state_dict(hf_pt.bert.state_dict(), strict=False)
    hf.cls.predictions.load_state_dict(hf_pt.cls.predictions.state_dict())
    hf.tie_weights()
    hf.eval()
    save_hf(hf, tmp_path)
    model = build_transformer_model(checkpoint_path=tmp_path, application="unilm")
    ids, seg, mask = _inputs((9, 6, 8))
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=seg, attention_mask=_unilm_3d(seg, mask)).logits
        bidirectional = hf(input_ids=ids, token_type_ids=seg, attention_mask=mask).logits
        out = model(ids, seg, attention_mask=mask).logits
    real = mask.bool()
    assert max_diff(out[real], ref[real]) <= 1e-5
    assert max_diff(out[real], bidirectional[real]) > 1e-3  # the mask really acts


def test_unilm_mask_rule():
    from kexue.models import masks

    seg = torch.tensor([[0, 0, 0, 1, 1, 1]])
    allowed = masks.unilm(masks.unilm_index(seg), masks.unilm_index(seg))[0, 0]
    expected = torch.tensor(
        [[1, 1, 1, 0, 0, 0]] * 3 + [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]
    ).bool()
    assert torch.equal(allowed, expected)


@pytest.mark.parametrize("application", ["lm", "unilm"])
def test_bert_cache_matches_full_forward_with_left_padding(pretraining_dir, application):
    path, _ = pretraining_dir
    model = build_transformer_model(checkpoint_path=path, application=application)
    ids, mask = padded_batch(71, [10, 6, 8], left=True)
    pos = (mask.cumsum(1) - 1).clamp(min=0)
    seg = torch.zeros_like(ids)
    seg[:, 6:] = 1  # source = first 6 columns (left-padded), target after
    with torch.no_grad():
        full = model(ids, seg, attention_mask=mask, position_ids=pos).logits
        cache = model.new_cache()
        steps = [
            model(
                ids[:, :6],
                seg[:, :6],
                attention_mask=mask[:, :6],
                position_ids=pos[:, :6],
                cache=cache,
            ).logits
        ]
        for t in range(6, ids.shape[1]):
            steps.append(
                model(
                    ids[:, t : t + 1],
                    seg[:, t : t + 1],
                    attention_mask=mask[:, : t + 1],
                    position_ids=pos[:, t : t + 1],
                    cache=cache,
                ).logits
            )
    step = torch.cat(steps, 1)
    real = mask.bool()
    assert step.shape == (3, 10, 71)
    assert max_diff(step[real], full[real]) <= 1e-5


def test_unilm_cache_reorder(pretraining_dir):
    path, _ = pretraining_dir
    model = build_transformer_model(checkpoint_path=path, application="unilm")
    ids = torch.randint(1, 71, (2, 7))
    seg = torch.tensor([[0, 0, 0, 0, 1, 1, 1]] * 2)
    index = torch.tensor([1, 1, 0])
    with torch.no_grad():
        cache = model.new_cache()
        model(ids[:, :6], seg[:, :6], cache=cache)
        cache.reorder(index)
        step = model(ids[index, 6:], seg[index, 6:], cache=cache).logits
        full = model(ids[index], seg[index]).logits
    assert max_diff(step[:, 0], full[:, 6]) <= 1e-5


def test_logits_to_keep_runs_the_head_on_the_last_positions_only(pretraining_dir):
    path, _ = pretraining_dir
    model = build_transformer_model(checkpoint_path=path, application="unilm").eval()
    ids, seg, mask = _inputs()
    with torch.no_grad():
        full = model(ids, seg, attention_mask=mask)
        part = model(ids, seg, attention_mask=mask, logits_to_keep=4)
    assert part.logits.shape == (3, 4, 71)
    torch.testing.assert_close(part.logits, full.logits[:, -4:])
    torch.testing.assert_close(part.hidden, full.hidden)
    with pytest.raises(ValueError, match="logits_to_keep must be in 0..9"):
        model(ids, seg, attention_mask=mask, logits_to_keep=10)
