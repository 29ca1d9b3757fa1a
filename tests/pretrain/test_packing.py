"""Packing never crosses the max length and never drops text; streams resume exactly."""

from __future__ import annotations

import numpy as np
import pytest

from kexue.pretrain.examples import PretrainStream, SpecialIds
from kexue.pretrain.packing import Packer


@pytest.mark.parametrize("cross", [True, False])
def test_chunks_cover_every_token_once_within_budget(store, cross):
    budget = 61
    p = Packer(store, budget, cross_documents=cross, seed=3)
    covered = np.zeros(store.n_tokens, np.int64)
    n = 0
    while (chunk := p.next_chunk()) is not None:
        n += 1
        switches = sum(a != b for a, b in zip(chunk.docs, chunk.docs[1:]))
        assert chunk.length + switches <= budget  # a [SEP] between documents counts
        if not cross:
            assert len(set(chunk.docs)) == 1
        for a, b in chunk.spans:
            covered[a:b] += 1
    assert (covered == 1).all()  # nothing dropped, nothing twice
    assert n >= store.n_tokens // budget
    assert p.next_chunk() is None  # the epoch is over
    p.set_epoch(1)
    assert p.next_chunk() is not None


def test_packing_fills_sequences(store):
    """Across documents every chunk but the last is full (or one short, for a [SEP])."""
    p = Packer(store, 100, cross_documents=True, seed=0)
    chunks = []
    while (c := p.next_chunk()) is not None:
        chunks.append(c)
    for c in chunks[:-1]:
        switches = sum(a != b for a, b in zip(c.docs, c.docs[1:]))
        assert c.length + switches >= 99


@pytest.mark.parametrize("objectives", [{"mlm": 1.0}, {"nsp": 1.0}, {"unilm": 1.0},
                                        {"unilm": 0.5, "mlm": 0.5}, {"lm": 1.0}])
def test_examples_within_max_length_and_resume_exactly(store, vocab, objectives):
    specials = SpecialIds(vocab[1])
    kw = dict(max_length=48, objectives=objectives, whole_word="lm" not in objectives, seed=7)
    straight = PretrainStream(store, specials, **kw)
    it = iter(straight)
    first = [next(it) for _ in range(60)]
    for ex in first:
        assert len(ex["token_ids"]) <= 48
        assert ex["token_ids"][0] == specials.cls
    # interrupted after 25 examples: a new stream from the saved state gives the same rest
    a = PretrainStream(store, specials, **kw)
    ita = iter(a)
    for _ in range(25):
        next(ita)
    state = a.state_dict()
    b = PretrainStream(store, specials, **kw)
    b.load_state_dict(state)
    itb = iter(b)
    for k in range(25, 60):
        got = next(itb)
        for key in first[k]:
            np.testing.assert_array_equal(got[key], first[k][key], err_msg=f"{k} {key}")


def test_stream_epoch_and_ranks(store, vocab):
    specials = SpecialIds(vocab[1])
    kw = dict(max_length=64, objectives={"nsp": 1.0}, seed=1)
    whole = list(PretrainStream(store, specials, **kw))
    parts = [list(PretrainStream(store, specials, rank=r, world_size=2, **kw)) for r in (0, 1)]
    merged = [ex for pair in zip(parts[0], parts[1]) for ex in pair]
    merged += parts[0][len(parts[1]):]
    assert len(merged) == len(whole)
    for x, y in zip(whole, merged):
        np.testing.assert_array_equal(x["token_ids"], y["token_ids"])
    labels = [ex["nsp_label"] for ex in whole]
    assert 0.35 < np.mean(labels) < 0.65  # random next sentence half of the time


def test_stream_checks(store, vocab):
    specials = SpecialIds(vocab[1])
    with pytest.raises(ValueError, match="objectives"):
        PretrainStream(store, specials, max_length=64, objectives={"sop": 1.0})
    with pytest.raises(ValueError, match="NSP and UniLM"):
        PretrainStream(store, specials, max_length=64, objectives={"nsp": 1.0, "unilm": 1.0})
    with pytest.raises(ValueError, match="vocabulary"):
        PretrainStream(store, SpecialIds({"[PAD]": 0, "[CLS]": 1, "[SEP]": 2, "[MASK]": 3,
                                          "a": 4}), max_length=64, objectives={"mlm": 1.0})


@pytest.mark.parametrize("objective", ["nsp", "unilm", "mlm"])
def test_pairs_use_every_token_once(store, vocab, objective):
    """Over an epoch, the real text of the examples (for NSP: A, and B when it is the real
    next sentence; a random B's own tail goes back to the stream) is the whole corpus."""
    specials = SpecialIds(vocab[1])
    used = 0
    for ex in PretrainStream(store, specials, max_length=64, objectives={objective: 1.0}):
        ids = ex["token_ids"]
        seg = ex["segment_ids"]
        n_a = int((seg == 0).sum()) - (2 if objective != "mlm" else 0)
        n_b = int((seg == 1).sum()) - 1
        if objective == "mlm":  # [CLS] ... [SEP], with a [SEP] between documents
            n_a = len(ids) - 2 - int((ids[1:-1] == specials.sep).sum())
            n_b = 0
        used += n_a + (n_b if ex.get("nsp_label", 0) == 0 else 0)
    assert used == store.n_tokens
