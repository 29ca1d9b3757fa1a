"""The step protocol: built-in steps passed explicitly, recipe-defined steps, and what a step
receives (new tokens, positions, cache, per-row state)."""

from __future__ import annotations

import pytest
import torch

from kexue.decoding import AutoRegressiveDecoder, CausalLMStep, Step, UniLMStep

PROMPTS = [[5, 6, 7, 8], [3, 4], [10, 11, 12]]
END, PAD = 5, 1


class Bigram(Step):
    """A recipe step without a neural model: next-token logits from a bigram table."""

    def __init__(self, table: torch.Tensor) -> None:
        self.table = table

    def __call__(self, token_ids, positions, cache, state):
        return self.table[token_ids[:, -1]]  # (rows, vocab): the last position only


def test_user_step_without_model_decodes_its_argmax_chain():
    g = torch.Generator().manual_seed(0)
    table = torch.randn(12, 12, generator=g)
    dec = AutoRegressiveDecoder(step=Bigram(table), end_id=None, pad_id=0)
    out = dec.greedy([[3], [4, 9]], max_new_tokens=6).tolist()
    for prompt, (seq,) in zip([[3], [4, 9]], out, strict=True):
        last, ref = prompt[-1], []
        for _ in range(6):
            last = int(table[last].argmax())
            ref.append(last)
        assert seq == ref
    beams = dec.beam_search([[3]], num_beams=3, num_return_sequences=3, max_new_tokens=4)
    logp = torch.log_softmax(table, -1)
    for seq, score in zip(beams.tolist()[0], beams.scores[0].tolist(), strict=True):
        prev, total = 3, 0.0
        for t in seq:
            total, prev = total + float(logp[prev, t]), t
        assert score == pytest.approx(total / len(seq), rel=1e-5)
    # a plain function works too
    fn = AutoRegressiveDecoder(step=lambda ids, pos, cache, st: table[ids[:, -1]], end_id=None)
    assert fn.greedy([[3], [4, 9]], max_new_tokens=6).tolist() == out


@pytest.mark.parametrize("use_cache", [True, False])
def test_builtin_step_passed_in_equals_the_default(gpt2_pair, use_cache):
    model = gpt2_pair[1]
    default = AutoRegressiveDecoder(model, end_id=END, pad_id=PAD, use_cache=use_cache)
    explicit = AutoRegressiveDecoder(
        model, step=CausalLMStep(model, use_cache), end_id=END, pad_id=PAD
    )
    for run in (
        lambda d: d.greedy(PROMPTS, max_new_tokens=6),
        lambda d: d.beam_search(PROMPTS, num_beams=3, num_return_sequences=2, max_new_tokens=6),
        lambda d: d.random_sample(PROMPTS, n=2, max_new_tokens=6, seed=4),
    ):
        a, b = run(default), run(explicit)
        assert a.tolist() == b.tolist()
        torch.testing.assert_close(a.scores, b.scores)


def test_subclassed_step_reshapes_logits_through_the_kv_cache(gpt2_pair):
    """A recipe step on top of CausalLMStep (here: a fixed logit bias) keeps the cache and
    decodes exactly like the same bias given as a hook."""
    model = gpt2_pair[1]
    bias = torch.linspace(-2, 2, 23, dtype=torch.float64)

    class Biased(CausalLMStep):
        def __call__(self, token_ids, positions, cache, state):
            return super().__call__(token_ids, positions, cache, state) + bias

    with_step = AutoRegressiveDecoder(model, step=Biased(model), end_id=END, pad_id=PAD)
    with_hook = AutoRegressiveDecoder(
        model, end_id=END, pad_id=PAD, hooks=[lambda s, g, x: x + bias.float()]
    )
    kw = dict(num_beams=3, num_return_sequences=3, max_new_tokens=7)
    a, b = with_step.beam_search(PROMPTS, **kw), with_hook.beam_search(PROMPTS, **kw)
    assert a.tolist() == b.tolist()
    torch.testing.assert_close(a.scores, b.scores, rtol=1e-5, atol=1e-5)


def test_what_a_step_receives(gpt2_pair):
    """Prefill: the left-padded prompt, positions cumsum(mask) - 1, the prompt mask. Then one
    token per row at the next position; the mask and generated tokens include it; the cache is
    the step's own and follows the beams."""
    model = gpt2_pair[1]
    calls = []

    class Recorder(CausalLMStep):
        def __call__(self, token_ids, positions, cache, state):
            calls.append(dict(ids=token_ids.clone(), pos=positions.clone(), cache=cache,
                              mask=state.attention_mask.clone(), gen=state.generated.clone(),
                              prefill=state.prefill, step=state.step))  # fmt: skip
            return super().__call__(token_ids, positions, cache, state)

    dec = AutoRegressiveDecoder(model, step=Recorder(model), end_id=None, pad_id=PAD)
    out = dec.beam_search(PROMPTS, num_beams=2, max_new_tokens=3)
    first = calls[0]
    assert first["prefill"] and first["step"] == 0
    assert first["ids"].tolist() == [[5, 6, 7, 8], [PAD, PAD, 3, 4], [PAD, 10, 11, 12]]
    assert first["mask"].tolist() == [[1, 1, 1, 1], [0, 0, 1, 1], [0, 1, 1, 1]]
    assert first["pos"].tolist() == [[0, 1, 2, 3], [0, 0, 0, 1], [0, 0, 1, 2]]
    for t, call in enumerate(calls[1:], start=1):
        assert not call["prefill"] and call["step"] == t
        assert call["ids"].shape == (6, 1) and call["mask"].shape == (6, 4 + t)
        assert call["pos"].flatten().tolist() == [n + t - 1 for n in (4, 4, 2, 2, 3, 3)]
        assert torch.equal(call["gen"][:, -1:], call["ids"])
        assert call["cache"] is first["cache"]
    assert len(calls) == 3 and out.sequences.shape == (3, 1, 3)


def test_unilm_step_is_used_for_unilm_models(bert_dir):
    from kexue.models import build_transformer_model

    model = build_transformer_model(checkpoint_path=bert_dir, application="unilm").double()
    dec = AutoRegressiveDecoder(model, end_id=3)
    assert isinstance(dec.make_step(), UniLMStep)
    explicit = AutoRegressiveDecoder(model, step=UniLMStep(model), end_id=3)
    src = [[2, 5, 6, 3], [2, 9, 3]]
    assert (
        dec.greedy(src, max_new_tokens=5).tolist()
        == explicit.greedy(src, max_new_tokens=5).tolist()
    )


def test_bad_steps_raise(gpt2_pair):
    with pytest.raises(TypeError, match="step must be callable"):
        AutoRegressiveDecoder(step=3, end_id=None)
    with pytest.raises(ValueError, match="not both"):
        AutoRegressiveDecoder(gpt2_pair[1], step=CausalLMStep(gpt2_pair[1]), kind="lm",
                              end_id=None)  # fmt: skip
    with pytest.raises(ValueError, match="needs a model"):
        AutoRegressiveDecoder(end_id=None)
    wrong_rows = AutoRegressiveDecoder(step=lambda i, p, c, s: torch.zeros(1, 9), end_id=None)
    with pytest.raises(ValueError, match="logits for 1 rows, expected 2"):
        wrong_rows.greedy([[1], [2]], max_new_tokens=2)
    not_logits = AutoRegressiveDecoder(step=lambda i, p, c, s: "x", end_id=None)
    with pytest.raises(TypeError, match="must return next-token logits"):
        not_logits.greedy([[1]], max_new_tokens=2)
    int_logits = AutoRegressiveDecoder(
        step=lambda i, p, c, s: torch.zeros(1, 9, dtype=torch.long), end_id=None
    )
    with pytest.raises(TypeError, match="float logits"):
        int_logits.greedy([[1]], max_new_tokens=2)
