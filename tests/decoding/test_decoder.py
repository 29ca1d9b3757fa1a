"""kexue model + AutoRegressiveDecoder vs transformers model + generate(): GPT-2 and T5.

Both sides hold the same tiny random checkpoint (conftest.py); prompts are batches of uneven
lengths, left-padded. Greedy and beam outputs must be identical and beam scores equal.
"""

from __future__ import annotations

import pytest
import torch

from kexue.decoding import AutoRegressiveDecoder

PROMPTS = [[5, 6, 7, 8, 9, 10, 3], [3, 4], [10, 11, 12], [7], [4, 4, 9, 13, 20]]


def _left_pad(prompts, pad):
    longest = max(map(len, prompts))
    ids = torch.tensor([[pad] * (longest - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (longest - len(p)) + [1] * len(p) for p in prompts])
    return ids, mask


def _cut(rows, eos):
    out = []
    for row in rows:
        kept = []
        for t in row:
            kept.append(t)
            if t == eos:
                break
        out.append(kept)
    return out


def _hf(hf, prompts, pad, eos, skip, **kw):
    ids, mask = _left_pad(prompts, pad)
    with torch.no_grad():
        g = hf.generate(
            ids, attention_mask=mask, do_sample=False, eos_token_id=eos, pad_token_id=pad,
            return_dict_in_generate=True, output_scores=True, **kw,
        )  # fmt: skip
    start = ids.shape[1] if skip == "prompt" else 1
    return _cut(g.sequences[:, start:].tolist(), eos), g.get("sequences_scores")


def _flat(gen):
    return [c for rows in gen.tolist() for c in rows]


GPT2_EOS = 5


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_gpt2_greedy_matches_generate(gpt2_pair, batch):
    gpt2_hf, gpt2_lm = gpt2_pair
    prompts = PROMPTS[:batch]
    ref, _ = _hf(gpt2_hf, prompts, 1, GPT2_EOS, "prompt", max_new_tokens=14)
    dec = AutoRegressiveDecoder(gpt2_lm, end_id=GPT2_EOS, pad_id=1)
    out = dec.greedy(prompts, max_new_tokens=14)
    assert _flat(out) == ref
    assert out.sequences.shape[:2] == (batch, 1)


@pytest.mark.parametrize(
    "batch,num_beams,length_penalty,early_stopping",
    [(5, 3, 1.0, False), (5, 3, 0.0, True), (5, 4, 2.0, "never"), (5, 2, -1.0, False),
     (1, 4, 1.0, True), (2, 3, 1.0, False)],
)
def test_gpt2_beam_matches_generate(gpt2_pair, batch, num_beams, length_penalty, early_stopping):
    gpt2_hf, gpt2_lm = gpt2_pair
    prompts = PROMPTS[:batch]
    kw = dict(num_beams=num_beams, length_penalty=length_penalty, early_stopping=early_stopping,
              num_return_sequences=num_beams, max_new_tokens=12)  # fmt: skip
    ref, ref_scores = _hf(gpt2_hf, prompts, 1, GPT2_EOS, "prompt", **kw)
    dec = AutoRegressiveDecoder(gpt2_lm, end_id=GPT2_EOS, pad_id=1)
    out = dec.beam_search(prompts, **kw)
    assert _flat(out) == ref
    torch.testing.assert_close(out.scores.flatten(), ref_scores, rtol=1e-5, atol=1e-5)
    # some hypotheses end early, others run to max_new_tokens: both paths are exercised
    if batch == 5 and length_penalty <= 1.0:
        assert {len(r) for r in ref} - {12}


def test_gpt2_min_new_tokens_matches_generate(gpt2_pair):
    gpt2_hf, gpt2_lm = gpt2_pair
    dec = AutoRegressiveDecoder(gpt2_lm, end_id=GPT2_EOS, pad_id=1)
    for kw in (dict(num_beams=1), dict(num_beams=3, num_return_sequences=3)):
        ref, _ = _hf(gpt2_hf, PROMPTS, 1, GPT2_EOS, "prompt", max_new_tokens=8,
                     min_new_tokens=4, **kw)  # fmt: skip
        if kw["num_beams"] == 1:
            out = dec.greedy(PROMPTS, max_new_tokens=8, min_new_tokens=4)
        else:
            out = dec.beam_search(PROMPTS, max_new_tokens=8, min_new_tokens=4, **kw)
        assert _flat(out) == ref
        assert min(len(r) for r in ref) >= 4


T5_PROMPTS = [[5, 6, 7, 8, 9, 1], [3, 4, 1], [10, 11, 12, 1], [7, 1]]


@pytest.mark.parametrize("batch", [1, 4])
def test_t5_greedy_and_beam_match_generate(t5_pair, batch):
    t5_hf, t5_lm = t5_pair
    eos = 3
    prompts = T5_PROMPTS[:batch]
    dec = AutoRegressiveDecoder(t5_lm, end_id=eos, pad_id=0, start_id=0)
    ref, _ = _hf(t5_hf, prompts, 0, eos, "start", max_new_tokens=12)
    assert _flat(dec.greedy(prompts, max_new_tokens=12)) == ref
    for num_beams, lp, es in [(3, 1.0, False), (2, 0.0, True)]:
        kw = dict(num_beams=num_beams, length_penalty=lp, early_stopping=es,
                  num_return_sequences=num_beams, max_new_tokens=12)  # fmt: skip
        ref, ref_scores = _hf(t5_hf, prompts, 0, eos, "start", **kw)
        out = dec.beam_search(prompts, **kw)
        assert _flat(out) == ref
        torch.testing.assert_close(out.scores.flatten(), ref_scores, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("family", ["gpt2", "t5"])
def test_cached_equals_uncached(kit, tmp_path, family):
    if family == "gpt2":
        model = kit.to_kexue(kit.tiny_gpt2(seed=1), tmp_path, model="gpt2", application="lm")
        kw, prompts = dict(end_id=5, pad_id=1), PROMPTS
    else:
        model = kit.to_kexue(kit.tiny_t5(seed=1), tmp_path, model="t5")
        kw, prompts = dict(end_id=3, start_id=0), T5_PROMPTS
    model = kit.CallLog(model)
    cached = AutoRegressiveDecoder(model, use_cache=True, **kw)
    plain = AutoRegressiveDecoder(model, use_cache=False, **kw)
    runs = [
        lambda d: d.greedy(prompts, max_new_tokens=9),
        lambda d: d.beam_search(prompts, num_beams=3, num_return_sequences=3, max_new_tokens=9),
        lambda d: d.beam_search(prompts, num_beams=2, max_new_tokens=9, early_stopping="best",
                                length_penalty=0.0, min_ends=2),  # fmt: skip
        lambda d: d.random_sample(prompts, n=3, top_k=5, top_p=0.9, max_new_tokens=9, seed=3),
    ]
    for run in runs:
        model.calls.clear()
        a = run(cached)
        assert max(model.calls[1:]) == 1  # after the prompt, one new token per call
        b = run(plain)
        assert a.tolist() == b.tolist()
        torch.testing.assert_close(a.scores, b.scores, rtol=0, atol=1e-5)


def test_prompt_tensor_with_mask_equals_list(gpt2_pair):
    gpt2_lm = gpt2_pair[1]
    dec = AutoRegressiveDecoder(gpt2_lm, end_id=GPT2_EOS, pad_id=1)
    ids, mask = _left_pad(PROMPTS, 1)
    right = torch.tensor([p + [1] * (ids.shape[1] - len(p)) for p in PROMPTS])
    right_mask = torch.tensor([[1] * len(p) + [0] * (ids.shape[1] - len(p)) for p in PROMPTS])
    a = dec.beam_search(PROMPTS, num_beams=2, max_new_tokens=6)
    b = dec.beam_search(ids, attention_mask=mask, num_beams=2, max_new_tokens=6)
    c = dec.beam_search(right, attention_mask=right_mask, num_beams=2, max_new_tokens=6)
    assert a.tolist() == b.tolist() == c.tolist()


def test_inputs_are_not_modified(gpt2_pair):
    gpt2_lm = gpt2_pair[1]
    dec = AutoRegressiveDecoder(gpt2_lm, end_id=GPT2_EOS, pad_id=1)
    ids, mask = _left_pad(PROMPTS, 1)
    ids0, mask0 = ids.clone(), mask.clone()
    prompts = [list(p) for p in PROMPTS]
    dec.greedy(ids, attention_mask=mask, max_new_tokens=4)
    dec.beam_search(prompts, num_beams=2, max_new_tokens=4)
    assert torch.equal(ids, ids0) and torch.equal(mask, mask0) and prompts == PROMPTS


def test_bad_inputs_raise_clear_errors(gpt2_pair, t5_pair):
    gpt2_lm, t5_lm = gpt2_pair[1], t5_pair[1]
    dec = AutoRegressiveDecoder(gpt2_lm, end_id=GPT2_EOS, pad_id=1)
    with pytest.raises(ValueError, match="prompt 1 is empty"):
        dec.greedy([[3, 4], []], max_new_tokens=3)
    with pytest.raises(ValueError, match="empty batch"):
        dec.greedy([], max_new_tokens=3)
    with pytest.raises(ValueError, match="48 positions"):
        dec.greedy([[3] * 49], max_new_tokens=1)
    with pytest.raises(ValueError, match="exceeds the model's 48 positions"):
        dec.beam_search([[3] * 40], num_beams=2, max_new_tokens=9)
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="num_beams"):
            dec.beam_search([[3]], num_beams=bad, max_new_tokens=3)
    with pytest.raises(ValueError, match="num_return_sequences"):
        dec.beam_search([[3]], num_beams=2, num_return_sequences=3, max_new_tokens=3)
    with pytest.raises(ValueError, match="early_stopping"):
        dec.beam_search([[3]], num_beams=2, early_stopping="sometimes", max_new_tokens=3)
    with pytest.raises(ValueError, match="max_new_tokens"):
        dec.greedy([[3]], max_new_tokens=0)
    with pytest.raises(ValueError, match="min_new_tokens"):
        dec.greedy([[3]], max_new_tokens=2, min_new_tokens=3)
    with pytest.raises(ValueError, match="min_ends"):
        dec.greedy([[3]], max_new_tokens=2, min_ends=0)
    with pytest.raises(ValueError, match="top_p"):
        dec.random_sample([[3]], max_new_tokens=2, top_p=0.0)
    with pytest.raises(ValueError, match="top_k"):
        dec.random_sample([[3]], max_new_tokens=2, top_k=-1)
    with pytest.raises(ValueError, match="temperature"):
        dec.random_sample([[3]], max_new_tokens=2, temperature=0)
    with pytest.raises(ValueError, match="negative"):
        dec.greedy([[3, -1]], max_new_tokens=2)
    with pytest.raises(TypeError):
        dec.greedy("hello", max_new_tokens=2)
    with pytest.raises(TypeError):
        dec.greedy([[3]], max_new_tokens=2, beams=3)
    with pytest.raises(ValueError, match="start_id"):
        AutoRegressiveDecoder(t5_lm, end_id=1)
    t5 = AutoRegressiveDecoder(t5_lm, end_id=1, start_id=0)
    with pytest.raises(ValueError, match="prompt 0 is empty"):
        t5.beam_search([[]], num_beams=2, max_new_tokens=3)
    with pytest.raises(ValueError, match="kind"):
        AutoRegressiveDecoder(torch.nn.Linear(2, 2), end_id=1)


def test_blocked_few_row_products_decode_like_generate(tmp_path):
    """A GPT-2 wide enough that decoding steps of <= 4 rows take kexue.layers.dense's blocked
    path (FFN 256 wide, vocabulary 300) still decodes exactly like generate()."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from kexue.layers import dense

    from .conftest import to_kexue

    torch.manual_seed(1)
    cfg = GPT2Config(
        vocab_size=300, n_positions=48, n_embd=64, n_layer=2, n_head=4, n_inner=256,
        bos_token_id=2, eos_token_id=2, pad_token_id=1, initializer_range=0.3,
    )  # fmt: skip
    hf = GPT2LMHeadModel(cfg).eval().to(torch.float64)
    kx = to_kexue(hf, tmp_path, model="gpt2", application="lm")
    assert min(300, 256) >= dense.MIN_BLOCKED_OUT
    dec = AutoRegressiveDecoder(kx, end_id=GPT2_EOS, pad_id=1)
    for prompts in (PROMPTS[:1], PROMPTS[:4]):
        ref, _ = _hf(hf, prompts, 1, GPT2_EOS, "prompt", max_new_tokens=10)
        assert _flat(dec.greedy(prompts, max_new_tokens=10)) == ref
    kw = dict(num_beams=4, num_return_sequences=4, max_new_tokens=10)
    ref, ref_scores = _hf(hf, PROMPTS[:1], 1, GPT2_EOS, "prompt", **kw)
    out = dec.beam_search(PROMPTS[:1], **kw)
    assert _flat(out) == ref
    torch.testing.assert_close(out.scores.flatten(), ref_scores, rtol=1e-5, atol=1e-5)


# --- bad values (hardening issue #25, item 9): each of these passed silently before ---------


def test_length_penalty_and_temperature_must_be_finite(gpt2_pair):
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=GPT2_EOS, pad_id=1)
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError, match="length_penalty must be a finite number"):
            dec.beam_search([[3]], num_beams=2, max_new_tokens=3, length_penalty=bad)
    for bad in (float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
            dec.random_sample([[3]], max_new_tokens=3, temperature=bad)


def test_float_token_ids_raise_instead_of_truncating(gpt2_pair):
    import numpy as np

    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=GPT2_EOS, pad_id=1)
    for prompts in ([[3, 4.7]], [[3.0]], [np.array([3.5, 4.0])], [torch.tensor([3.0, 4.0])],
                    [[3, True]]):  # fmt: skip
        with pytest.raises(TypeError, match="integer token ids"):
            dec.greedy(prompts, max_new_tokens=2)
    with pytest.raises(TypeError, match="integers"):
        dec.greedy(torch.tensor([[True, False]]), max_new_tokens=2)
    with pytest.raises(TypeError, match="integer token ids"):
        AutoRegressiveDecoder(gpt2_pair[1], end_id=2.5, pad_id=1)
    with pytest.raises(TypeError, match="integer token ids"):
        AutoRegressiveDecoder(gpt2_pair[1], end_id=[5, 2.5], pad_id=1)
    with pytest.raises(ValueError, match="seed must be an int"):
        dec.random_sample([[3]], max_new_tokens=2, seed=1.5)
    # integer ids of other types are fine: NumPy ints, 0-d integer tensors
    ref = dec.greedy([[3, 4]], max_new_tokens=3).tolist()
    assert dec.greedy([np.array([3, 4])], max_new_tokens=3).tolist() == ref
    assert dec.greedy([[torch.tensor(3), np.int64(4)]], max_new_tokens=3).tolist() == ref


def test_ids_outside_the_vocabulary_raise(gpt2_pair):
    gpt2 = gpt2_pair[1]  # vocabulary of 23 tokens
    for kw in (dict(end_id=23), dict(end_id=[5, 40]), dict(end_id=5, pad_id=23)):
        with pytest.raises(ValueError, match=r"outside the model's vocabulary \(23 tokens\)"):
            AutoRegressiveDecoder(gpt2, **kw)
    dec = AutoRegressiveDecoder(gpt2, end_id=5, pad_id=1)
    with pytest.raises(ValueError, match="prompt 1 holds token id 23, outside"):
        dec.greedy([[3], [4, 23]], max_new_tokens=2)
    # a step whose vocabulary is only known from its logits: end_id checked at the first step
    table = torch.zeros(12, 12)
    custom = AutoRegressiveDecoder(step=lambda i, p, c, s: table[i[:, -1]], end_id=12)
    for run in (lambda d: d.greedy([[3]], max_new_tokens=2),
                lambda d: d.beam_search([[3]], num_beams=2, max_new_tokens=2)):  # fmt: skip
        with pytest.raises(ValueError, match=r"end_id 12 is outside the model's vocabulary"):
            run(custom)


def _nan_copy(model):
    import copy

    bad = copy.deepcopy(model)
    with torch.no_grad():
        next(bad.parameters()).fill_(float("nan"))
    return bad


def test_nan_model_raises_instead_of_an_empty_result(gpt2_pair):
    dec = AutoRegressiveDecoder(_nan_copy(gpt2_pair[1]), end_id=GPT2_EOS, pad_id=1)
    runs = [
        lambda: dec.beam_search(PROMPTS, num_beams=3, max_new_tokens=4),
        lambda: dec.beam_search(PROMPTS, num_beams=2, max_new_tokens=4,
                                early_stopping="best", length_penalty=0.0),  # fmt: skip
        lambda: dec.greedy(PROMPTS, max_new_tokens=4),
        lambda: dec.random_sample(PROMPTS, n=2, max_new_tokens=4, seed=0),
    ]
    for run in runs:
        with pytest.raises(ValueError, match="the model returned NaN or infinite logits"):
            run()


def test_nan_from_a_hook_is_not_reported_as_excluded_tokens(gpt2_pair):
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=GPT2_EOS, pad_id=1)

    def nan_hook(step, generated, logits):
        return logits.masked_fill(torch.arange(logits.shape[-1]) == 4, float("nan"))

    for run in (lambda: dec.greedy(PROMPTS, max_new_tokens=3, hooks=[nan_hook]),
                lambda: dec.random_sample(PROMPTS, max_new_tokens=3, hooks=[nan_hook]),
                lambda: dec.beam_search(PROMPTS, num_beams=2, max_new_tokens=3,
                                        hooks=[nan_hook])):  # fmt: skip
        with pytest.raises(ValueError, match="a logits hook returned NaN"):
            run()
    # all tokens excluded in beam search is reported as such (it produced NaN scores before)
    with pytest.raises(ValueError, match="every token was excluded at step 0"):
        dec.beam_search(PROMPTS, num_beams=2, max_new_tokens=3,
                        hooks=[lambda s, g, x: torch.full_like(x, float("-inf"))])  # fmt: skip


def test_integer_rows_of_any_array_type_are_accepted(gpt2_pair):
    import numpy as np

    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=GPT2_EOS, pad_id=1)
    ref = dec.greedy([[3, 4], [5]], max_new_tokens=3).tolist()
    for rows in ([torch.tensor([3, 4]), torch.tensor([5], dtype=torch.int32)],
                 [np.array([3, 4], dtype=np.uint8), np.array([5])]):  # fmt: skip
        assert dec.greedy(rows, max_new_tokens=3).tolist() == ref
