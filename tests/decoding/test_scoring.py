"""score_continuations: equal to one full forward pass per candidate (float64), prefix once."""

from __future__ import annotations

import random

import pytest
import torch

from kexue.decoding import AutoRegressiveDecoder, score_continuations


def _candidates(seed, n, vocab, lengths=(1, 4)):
    rng = random.Random(seed)
    return [[rng.randrange(vocab) for _ in range(rng.randint(*lengths))] for _ in range(n)]


def _full_lm(model, prefix, cand, segments=False):
    ids = torch.tensor([prefix + cand])
    seg = torch.tensor([[0] * len(prefix) + [1] * len(cand)]) if segments else None
    with torch.no_grad():
        logp = torch.log_softmax(model(ids, seg).logits[0], dim=-1)
    return sum(float(logp[len(prefix) - 1 + i, t]) for i, t in enumerate(cand))


def test_causal_lm_equals_separate_full_forwards(gpt2_pair, kit):
    model = kit.CallLog(gpt2_pair[1])
    prefix = [3, 9, 4, 17, 6, 11, 2, 8, 20, 13]
    cands = _candidates(0, 30, 23)
    scores = score_continuations(model, prefix, cands)
    assert scores.dtype == torch.float64 and scores.shape == (30,)
    assert model.calls == [len(prefix), 4]  # the prefix once, then every candidate at once
    ref = torch.tensor([_full_lm(gpt2_pair[1], prefix, c) for c in cands], dtype=torch.float64)
    torch.testing.assert_close(scores, ref, rtol=1e-10, atol=1e-10)
    chunked, per = score_continuations(gpt2_pair[1], prefix, cands, chunk_size=7, per_token=True)
    torch.testing.assert_close(chunked, ref, rtol=1e-10, atol=1e-10)
    assert per.shape == (30, 4)
    assert all(float(per[i, len(c) :].abs().sum()) == 0 for i, c in enumerate(cands))
    torch.testing.assert_close(per.sum(1), ref, rtol=1e-10, atol=1e-10)


def test_uncached_decoder_gives_the_same_scores(gpt2_pair):
    prefix, cands = [4, 5, 6], _candidates(1, 10, 23)
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=None, use_cache=False)
    torch.testing.assert_close(
        score_continuations(dec, prefix, cands),
        score_continuations(gpt2_pair[1], prefix, cands),
        rtol=1e-10, atol=1e-10,
    )  # fmt: skip


def test_unilm_scores_targets_after_the_source(bert_dir):
    from kexue.models import build_transformer_model

    model = build_transformer_model(checkpoint_path=bert_dir, application="unilm").double()
    source, cands = [2, 7, 8, 9, 3], _candidates(2, 12, 29)
    scores = score_continuations(model, source, cands)
    ref = torch.tensor([_full_lm(model, source, c, segments=True) for c in cands])
    # 1e-6, not 1e-10: kexue BERT computes the softmax of explicitly masked attention in
    # float32 even for float64 models (hardening issue #25, item 16)
    torch.testing.assert_close(scores, ref.double(), rtol=1e-6, atol=1e-6)


def test_seq2seq_scores_decoder_outputs(t5_pair):
    model = t5_pair[1]
    source, cands = [5, 6, 7, 1], _candidates(3, 12, 23)
    dec = AutoRegressiveDecoder(model, end_id=1, start_id=0)
    scores = score_continuations(dec, source, cands)
    chunked = score_continuations(dec, source, cands, chunk_size=5)
    torch.testing.assert_close(chunked, scores, rtol=1e-12, atol=1e-12)
    ref = []
    with torch.no_grad():
        enc = model.encode(torch.tensor([source]), attention_mask=torch.ones(1, len(source)))
        for c in cands:
            logits = model.decode(torch.tensor([[0] + c[:-1]]), enc,
                                  encoder_mask=torch.ones(1, len(source)))  # fmt: skip
            logp = torch.log_softmax(logits[0], dim=-1)
            ref.append(sum(float(logp[i, t]) for i, t in enumerate(c)))
    torch.testing.assert_close(scores, torch.tensor(ref, dtype=torch.float64), rtol=1e-10,
                               atol=1e-10)  # fmt: skip


def test_bad_candidates_raise(gpt2_pair):
    model = gpt2_pair[1]
    with pytest.raises(ValueError, match="no candidates"):
        score_continuations(model, [3], [])
    with pytest.raises(ValueError, match="candidate 1 is empty"):
        score_continuations(model, [3], [[4], []])
    with pytest.raises(TypeError, match="non-integer"):
        score_continuations(model, [3], [[4, 2.5]])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        score_continuations(model, [3], [[4, 23]])
    with pytest.raises(ValueError, match="exceeds the model's 48 positions"):
        score_continuations(model, [3] * 46, [[4, 5, 6]])
    with pytest.raises(ValueError, match="chunk_size"):
        score_continuations(model, [3], [[4]], chunk_size=0)
    last_only = AutoRegressiveDecoder(step=lambda i, p, c, s: torch.zeros(i.shape[0], 9),
                                      end_id=None)  # fmt: skip
    with pytest.raises(TypeError, match="every new token"):
        score_continuations(last_only, [3], [[4]])
