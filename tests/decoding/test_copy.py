"""BIO copy labels from the token LCS and the copy constraint of the open decoder."""

import random

import pytest
import torch

from kexue.decoding import AutoRegressiveDecoder
from kexue.decoding.copy import B, BIOCopyConstraint, I, O, bio_labels, is_verbatim_copy


def test_article_example_gives_B_O_B_I_I():
    source = "我 真的 非常 热爱 我 的 祖国".split()
    target = "我 爱 我 的 祖国".split()
    src_tags, tgt_tags = bio_labels(source, target)
    assert tgt_tags == [B, O, B, I, I]
    assert src_tags == [B, O, O, O, B, I, I]


def test_labels_mark_lcs_runs():
    rng = random.Random(3)
    for _ in range(200):
        s = [rng.randrange(4) for _ in range(rng.randint(1, 12))]
        t = [rng.randrange(4) for _ in range(rng.randint(1, 12))]
        _, tags = bio_labels(s, t)
        assert tags[0] != I  # a run cannot start with I
        assert is_verbatim_copy(s, t, tags)


def _random_step(vocab: int, seed: int):
    gen = torch.Generator().manual_seed(seed)

    def step(token_ids, positions, cache, state):
        return torch.randn(token_ids.shape[0], vocab, generator=gen)

    return step


@pytest.mark.parametrize("seed", range(6))
def test_decoder_never_breaks_a_source_ngram_under_B_or_I(seed):
    """Property: random sources, random model logits, random tag policies (biased to I so
    long runs are attempted): every B/I run of every output is a verbatim source n-gram."""
    vocab, special = 12, (0, 1)  # 0 = pad / [CLS], 1 = [SEP]
    rng = random.Random(seed)
    sources = [[0] + [rng.randrange(2, vocab) for _ in range(rng.randint(1, 9))] + [1]
               for _ in range(5)]
    gen = torch.Generator().manual_seed(100 + seed)
    seen = {}

    def tags(state):
        seen["state"] = state
        return torch.randn(state.rows, 3, generator=gen) + torch.tensor([0.0, 0.5, 1.5])

    hook = BIOCopyConstraint(tags, exclude=special)
    dec = AutoRegressiveDecoder(step=_random_step(vocab, seed), end_id=None, pad_id=0)
    out = dec.random_sample(sources, max_new_tokens=14, n=3, seed=seed, hooks=[hook])
    state = seen["state"]
    generated = out.tolist()
    copied = 0
    for row in range(state.rows):
        inp, k = divmod(row, 3)
        src = [t for t in sources[inp] if t not in special]
        row_tags = state.extra["copy_tags"][row]
        output = generated[inp][k]
        assert len(row_tags) == len(output)
        assert is_verbatim_copy(src, output, row_tags), (src, output, row_tags)
        copied += sum(t != O for t in row_tags)
    assert copied > 20  # the constraint was exercised


def test_greedy_copy_under_all_I_policy_reproduces_a_source_span():
    source = [0, 5, 6, 7, 8, 1]
    hook = BIOCopyConstraint(lambda s: torch.tensor([[0.0, 1.0, 2.0]] * s.rows), exclude=(0, 1))

    def step(token_ids, positions, cache, state):  # prefers token 6, then anything big
        logits = torch.arange(12.0).repeat(token_ids.shape[0], 1)
        logits[:, 6] = 100.0
        return logits

    dec = AutoRegressiveDecoder(step=step, end_id=None, pad_id=0)
    out = dec.greedy([source], max_new_tokens=4, hooks=[hook]).tolist()[0][0]
    assert out == [6, 7, 8, 6]  # B 6, I 7, I 8, end of source -> a new span: B 6


def test_missing_tag_logits_is_a_clear_error():
    dec = AutoRegressiveDecoder(step=_random_step(8, 0), end_id=None, pad_id=0)
    with pytest.raises(ValueError, match="bio_logits"):
        dec.greedy([[2, 3]], max_new_tokens=2, hooks=[BIOCopyConstraint()])
