"""Search rules against a brute-force reference on kexue BERT (``application="unilm"`` / ``"lm"``).

The reference decodes one prompt at a time, without padding or cache, re-running the full model
on ``source + generated`` for every hypothesis at every step, and implements the documented
rules with plain Python lists. The decoder runs the whole uneven batch at once, left-padded,
with the KV cache.
"""

from __future__ import annotations

import pytest
import torch

from kexue.decoding import AutoRegressiveDecoder
from kexue.models import build_transformer_model

SOURCES = [[2, 5, 6, 7, 8, 3], [2, 9, 3], [2, 10, 11, 12, 13, 14, 15, 3]]
END = 3


def _bert(bert_dir, application):
    model = build_transformer_model(checkpoint_path=bert_dir, application=application)
    return model.to(torch.float64).eval()


@pytest.fixture(scope="module")
def unilm(bert_dir):
    return _bert(bert_dir, "unilm")


@pytest.fixture(scope="module")
def causal_bert(bert_dir):
    return _bert(bert_dir, "lm")


def _logp(model, src, gen):
    ids = torch.tensor([src + gen])
    seg = None
    if model.application == "unilm":
        seg = torch.tensor([[0] * len(src) + [1] * len(gen)])
    with torch.no_grad():
        logits = model(ids, seg).logits[0, -1].float()
    return torch.log_softmax(logits, dim=-1)


def _finished(seq, length, max_new, min_ends):
    return (seq[-1] == END and seq.count(END) >= min_ends) or length == max_new


def brute_greedy(model, src, max_new, min_ends=1):
    gen, score = [], torch.tensor(0.0)
    for step in range(max_new):
        logp = _logp(model, src, gen)
        tok = int(logp.argmax())
        gen.append(tok)
        score = score + logp[tok]
        if _finished(gen, step + 1, -1, min_ends):
            break
    return gen, float(score)


def brute_beam(model, src, k, max_new, lp, early, min_ends=1, r=1):
    running = [([], torch.tensor(0.0))]
    pool = []
    for step in range(max_new):
        length = step + 1
        cands = []
        for seq, sc in running:
            logp = _logp(model, src, seq)
            cands += [(seq + [t], sc + logp[t]) for t in range(logp.numel())]
        cands.sort(key=lambda c: -float(c[1]))
        cands = cands[: 2 * k]
        for seq, sc in cands[:k]:
            if _finished(seq, length, max_new, min_ends):
                pool.append((seq, float(sc) / length**lp))
        pool = sorted(pool, key=lambda c: -c[1])[:k]
        running = [c for c in cands if not _finished(c[0], length, max_new, min_ends)][:k]
        if length == max_new or not running:
            break
        best = float(running[0][1]) / (max_new if early == "never" and lp > 0 else length) ** lp
        if early is True and len(pool) == k:
            break
        if early in (False, "never") and len(pool) == k and best <= pool[-1][1]:
            break
        if early == "best" and len(pool) >= r and pool[r - 1][1] >= best:
            break
    return pool[:r]


@pytest.mark.parametrize("application", ["unilm", "lm"])
def test_greedy_equals_brute_force(request, application):
    bert = request.getfixturevalue("unilm" if application == "unilm" else "causal_bert")
    dec = AutoRegressiveDecoder(bert, end_id=END)
    for min_ends in (1, 2):
        out = dec.greedy(SOURCES, max_new_tokens=10, min_ends=min_ends)
        for i, src in enumerate(SOURCES):
            gen, score = brute_greedy(bert, src, 10, min_ends)
            assert out.tolist()[i][0] == gen
            assert abs(float(out.scores[i, 0]) - score) < 1e-5


@pytest.mark.parametrize(
    "k,lp,early,min_ends,r",
    [(3, 1.0, False, 1, 2), (2, 0.0, "best", 2, 1), (2, 2.0, "never", 1, 2), (3, 1.0, True, 1, 3)],
)
def test_unilm_beam_equals_brute_force(unilm, k, lp, early, min_ends, r):
    _check_beam(unilm, k, lp, early, min_ends, r)


def test_causal_bert_beam_equals_brute_force(causal_bert):
    _check_beam(causal_bert, 3, 0.0, "best", 1, 2)


def _check_beam(bert, k, lp, early, min_ends, r):
    dec = AutoRegressiveDecoder(bert, end_id=END)
    out = dec.beam_search(
        SOURCES, num_beams=k, max_new_tokens=6, length_penalty=lp, early_stopping=early,
        min_ends=min_ends, num_return_sequences=r,
    )  # fmt: skip
    got = out.tolist()
    for i, src in enumerate(SOURCES):
        ref = brute_beam(bert, src, k, 6, lp, early, min_ends, r)
        assert got[i][: len(ref)] == [seq for seq, _ in ref]
        for j, (_, score) in enumerate(ref):
            assert abs(float(out.scores[i, j]) - score) < 1e-5


def test_min_ends_and_minlen_rules(unilm):
    """bert4keras: a row stops at an end token once it holds ``min_ends`` of them; ``minlen``
    either masks end tokens (transformers) or lets them through without stopping (bert4keras)."""
    dec = AutoRegressiveDecoder(unilm, end_id=END)
    for seq in dec.greedy(SOURCES, max_new_tokens=12, min_ends=2).tolist():
        seq = seq[0]
        assert seq.count(END) <= 2 and (len(seq) == 12 or (seq[-1] == END and seq.count(END) == 2))

    def push_end_first(step, generated, logits):  # make END the argmax of the first step
        if step > 0:
            return logits
        return logits.index_add(1, torch.tensor([END]), torch.full((logits.shape[0], 1), 1e3))

    kw = dict(max_new_tokens=12, min_new_tokens=5, hooks=[push_end_first])
    masked = dec.greedy(SOURCES, **kw).tolist()
    free = dec.greedy(SOURCES, mask_ends=False, **kw).tolist()
    for m, f in zip(masked, free):
        assert END not in m[0][:5] and len(m[0]) >= 5
        # unmasked: the end token appears at step 0 but does not stop the row before minlen
        assert f[0][0] == END and len(f[0]) >= 5 and (f[0][-1] == END or len(f[0]) == 12)
