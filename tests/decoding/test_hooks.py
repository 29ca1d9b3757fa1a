"""Logits hooks: composition, the arguments they receive, and the built-in constraints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kexue.decoding import AllowTokens, AutoRegressiveDecoder, SuppressTokens, TopKMask

PROMPTS = [[5, 6, 7, 8], [3, 4], [10, 11, 12]]


def test_hooks_see_generated_ids_and_compose_in_order(gpt2_pair):
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=None, pad_id=1)
    calls = []

    def first(step, generated, logits):
        calls.append(("first", step, generated.clone()))
        return logits + 0.0

    def second(step, generated, logits):
        calls.append(("second", step, generated.shape))
        return logits

    out = dec.beam_search(PROMPTS, num_beams=2, max_new_tokens=4, hooks=[first, second])
    assert [c[0] for c in calls] == ["first", "second"] * 4
    assert [c[1] for c in calls[::2]] == [0, 1, 2, 3]
    # rows are input-major: len(PROMPTS) * num_beams rows, `step` tokens so far
    assert [tuple(c[2].shape) for c in calls[::2]] == [(6, 0), (6, 1), (6, 2), (6, 3)]
    greedy_seen = []
    dec.greedy(PROMPTS, max_new_tokens=4,
               hooks=[lambda s, g, x: greedy_seen.append(g.clone()) or x])  # fmt: skip
    final = dec.greedy(PROMPTS, max_new_tokens=4).sequences[:, 0]
    assert torch.equal(greedy_seen[-1], final[:, :3])
    assert out.sequences.shape == (3, 1, 4)


def test_decoder_level_and_call_level_hooks_both_apply(gpt2_pair):
    banned = SuppressTokens([0, 2, 4])
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=None, pad_id=1, hooks=[banned])
    out = dec.random_sample(PROMPTS, n=8, max_new_tokens=6, seed=0, temperature=3.0,
                            hooks=[SuppressTokens([6])])  # fmt: skip
    emitted = set(out.sequences.flatten().tolist())
    assert not emitted & {0, 2, 4, 6} and len(emitted) > 5


def test_allow_tokens_fixed_and_per_row(gpt2_pair):
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=None, pad_id=1)
    out = dec.beam_search(PROMPTS, num_beams=3, num_return_sequences=3, max_new_tokens=5,
                          hooks=[AllowTokens([7, 8, 9])])  # fmt: skip
    assert set(out.sequences.flatten().tolist()) <= {7, 8, 9}

    def legal(step, generated):  # a history-dependent rule: never repeat the previous token
        return [
            [t for t in range(23) if step == 0 or t != int(row[-1])] for row in generated
        ]

    for seq in dec.greedy(PROMPTS, max_new_tokens=8, hooks=[AllowTokens(legal)]).tolist():
        seq = seq[0]
        assert all(a != b for a, b in zip(seq, seq[1:]))
    with pytest.raises(ValueError, match="empty allowed set"):
        dec.greedy(PROMPTS, max_new_tokens=2, hooks=[AllowTokens(lambda s, g: [[]] * len(g))])
    with pytest.raises(ValueError, match="vocab size"):
        dec.greedy(PROMPTS, max_new_tokens=2, hooks=[AllowTokens([99])])
    with pytest.raises(ValueError, match="empty"):
        AllowTokens([])


def test_top_k_mask_matches_reference():
    """SPACES sparse-softmax decoding: logits outside the top-10 become -1000."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 40, generator=g)
    out = TopKMask(10)(0, torch.empty(5, 0, dtype=torch.long), logits)
    x = logits.numpy()
    kth = np.sort(x, axis=-1)[:, -10][:, None]
    ref = np.where(x >= kth, x, -1000.0)
    np.testing.assert_array_equal(out.numpy(), ref.astype(np.float32))
    assert (out > -1000).sum(-1).tolist() == [10] * 5
    with pytest.raises(ValueError, match="positive int"):
        TopKMask(0)


def test_bad_hooks_raise(gpt2_pair):
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=None, pad_id=1)
    with pytest.raises(ValueError, match="must return a tensor of shape"):
        dec.greedy(PROMPTS, max_new_tokens=2, hooks=[lambda s, g, x: x[:, :3]])
    with pytest.raises(TypeError, match="callables"):
        dec.greedy(PROMPTS, max_new_tokens=2, hooks=["not a hook"])
    with pytest.raises(ValueError, match="every token was excluded"):
        dec.greedy(PROMPTS, max_new_tokens=2,
                   hooks=[lambda s, g, x: torch.full_like(x, float("-inf"))])  # fmt: skip
