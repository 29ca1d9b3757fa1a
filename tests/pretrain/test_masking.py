"""Masking statistics: 15 % chosen, 80/10/10, whole words never partial, specials never."""

from __future__ import annotations

import numpy as np
import pytest

from kexue.pretrain.masking import IGNORE_INDEX, mask_tokens

VOCAB, MASK = 1000, 4


def _words(rng, n):
    starts = np.zeros(n, np.uint8)
    i = 0
    while i < n:
        starts[i] = 1
        i += int(rng.integers(1, 5))  # words of 1-4 tokens
    return starts


def test_rate_and_80_10_10_by_token():
    rng = np.random.default_rng(0)
    chosen = masked = randomised = kept = total = 0
    for _ in range(400):
        ids = rng.integers(10, VOCAB, size=126)
        inputs, labels = mask_tokens(ids, rng, mask_id=MASK, vocab_size=VOCAB, random_low=10)
        sel = labels != IGNORE_INDEX
        assert sel.sum() == round(0.15 * 126)  # character masking hits the target exactly
        np.testing.assert_array_equal(labels[sel], ids[sel])
        np.testing.assert_array_equal(inputs[~sel], ids[~sel])  # nothing else changes
        total += len(ids)
        chosen += sel.sum()
        masked += (inputs[sel] == MASK).sum()
        changed = (inputs[sel] != MASK) & (inputs[sel] != ids[sel])
        randomised += changed.sum()
        kept += (inputs[sel] == ids[sel]).sum()
    assert abs(chosen / total - 0.15) < 0.002
    # 7,600 chosen tokens: binomial sd of a share ~0.005; a random draw equal to the token
    # itself (1/990) counts as kept
    assert abs(masked / chosen - 0.8) < 0.02
    assert abs(randomised / chosen - 0.1) < 0.015
    assert abs(kept / chosen - 0.1) < 0.015


def test_whole_word_masking_never_partial_and_rate():
    rng = np.random.default_rng(1)
    chosen = total = 0
    for _ in range(300):
        n = 128
        ids = rng.integers(10, VOCAB, size=n)
        starts = _words(rng, n)
        maskable = np.ones(n, bool)
        maskable[[0, 60, n - 1]] = False  # [CLS], a [SEP] inside a word, the last [SEP]
        inputs, labels = mask_tokens(ids, rng, mask_id=MASK, vocab_size=VOCAB,
                                     maskable=maskable, word_starts=starts, random_low=10)
        sel = labels != IGNORE_INDEX
        assert not sel[~maskable].any()
        assert (inputs[~maskable] == ids[~maskable]).all()
        # units: words, cut at the non-maskable positions
        cut = starts.astype(bool) | ~maskable
        cut[1:] |= ~maskable[:-1]
        unit = np.cumsum(cut)
        for u in np.unique(unit[sel]):
            assert sel[unit == u].all(), "a word was masked partially"
        target = round(0.15 * maskable.sum())
        assert target - 4 < sel.sum() <= target
        chosen += sel.sum()
        total += maskable.sum()
    assert abs(chosen / total - 0.15) < 0.01


def test_real_jieba_words_masked_whole(store):
    """On the real token store, every jieba word is masked whole or not at all."""
    rng = np.random.default_rng(2)
    ids = np.asarray(store.ids[:5000], np.int64)
    words = np.asarray(store.words[:5000])
    assert 0.3 < words.mean() < 0.9  # real multi-character words exist
    _, labels = mask_tokens(ids, rng, mask_id=MASK, vocab_size=20000, word_starts=words)
    sel = labels != IGNORE_INDEX
    unit = np.cumsum(words)
    partial = [u for u in np.unique(unit[sel]) if not sel[unit == u].all()]
    assert partial == []
    assert sel.sum() > 600


def test_deterministic_and_checked():
    ids = np.arange(10, 60)
    a = mask_tokens(ids, np.random.default_rng(5), mask_id=MASK, vocab_size=VOCAB)
    b = mask_tokens(ids, np.random.default_rng(5), mask_id=MASK, vocab_size=VOCAB)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="rate"):
        mask_tokens(ids, np.random.default_rng(0), mask_id=MASK, vocab_size=VOCAB, rate=0)
    with pytest.raises(ValueError, match="word_starts"):
        mask_tokens(ids, np.random.default_rng(0), mask_id=MASK, vocab_size=VOCAB,
                    word_starts=np.ones(3))
