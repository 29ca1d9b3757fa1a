"""Temperature in random sampling and beam search, against references.

Only the public API of ``docs/decoding.md`` is used: ``AutoRegressiveDecoder(...)`` with
``greedy``, ``beam_search`` and ``random_sample``, logits hooks (which see the logits before
any normalisation) and the ``Generation`` result. The reference distribution of the next token
after any prefix is read through a recording hook from a one-step ``greedy`` call on
``prompt + prefix`` (a causal LM continues a prompt exactly as it continues its own output).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from kexue.decoding import AutoRegressiveDecoder
from kexue.models import build_transformer_model

VOCAB = 13
PROMPT = [1, 4, 7]


@pytest.fixture(scope="module")
def decoder():
    """A tiny random causal LM (GPT-2 layout, vocab 13) whose next-token distributions are far
    from uniform (initializer range 0.3), so that temperature changes them visibly."""
    torch.manual_seed(0)
    cfg = dict(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=32,
               initializer_range=0.3)
    model = build_transformer_model(cfg, model="gpt2", application="lm")
    return AutoRegressiveDecoder(model.to(torch.float64).eval(), end_id=None, pad_id=0)


def next_logits(dec, prefix: list[int]) -> torch.Tensor:
    """The logits the decoder sees for the token after ``prefix`` (float64 copy)."""
    seen = []

    def record(step, generated, logits):
        seen.append(logits[0].detach().double().clone())
        return logits

    dec.greedy([prefix], max_new_tokens=1, hooks=[record])
    return seen[0]


def chi_square_pvalue(counts: np.ndarray, probs: np.ndarray) -> float:
    """Goodness of fit; cells with an expected count below 5 are pooled into one."""
    expected = probs * counts.sum()
    small = expected < 5
    obs = np.append(counts[~small], counts[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    return float(stats.chisquare(obs, exp).pvalue)


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_sampling_distribution_at_temperature_is_softmax_of_logits_over_t(decoder, temperature):
    """4000 one-token samples (seed 0, fixed) follow softmax(logits / T): chi-square does not
    reject at p = 1e-3 (a correct sampler fails one seed in a thousand; the seed is fixed, so
    the outcome is deterministic). The same counts reject the untempered softmax (T = 1) at
    p < 1e-9, so a sampler that ignored the temperature would fail."""
    n = 4000
    logits = next_logits(decoder, PROMPT)
    tempered = torch.softmax(logits / temperature, -1).numpy()
    plain = torch.softmax(logits, -1).numpy()
    out = decoder.random_sample([PROMPT], n=n, max_new_tokens=1, temperature=temperature,
                                seed=0)
    counts = np.bincount(out.sequences.reshape(-1).numpy(), minlength=VOCAB)
    assert counts.sum() == n
    assert chi_square_pvalue(counts, tempered) > 1e-3, (counts, tempered * n)
    assert chi_square_pvalue(counts, plain) < 1e-9
    # each sample's score is the log-probability of its token under the tempered softmax
    scores = out.scores.reshape(-1).double()
    ref = torch.log_softmax(logits / temperature, -1)[out.sequences.reshape(-1)]
    torch.testing.assert_close(scores, ref, rtol=1e-5, atol=1e-5)


def test_sampling_scores_over_several_steps_use_the_tempered_distribution(decoder):
    """Score of a sampled sequence = sum over its steps of log softmax(logits_t / T)(y_t),
    with the logits of each prefix recomputed from scratch; top-k applies after T."""
    temperature = 0.7
    out = decoder.random_sample([PROMPT], n=6, max_new_tokens=3, temperature=temperature,
                                top_k=5, seed=3)
    for seq, score in zip(out.tolist()[0], out.scores[0].tolist()):
        total, prefix = 0.0, list(PROMPT)
        for y in seq:
            scaled = next_logits(decoder, prefix) / temperature
            kth = scaled.topk(5).values[-1]
            scaled = scaled.masked_fill(scaled < kth, float("-inf"))
            logp = torch.log_softmax(scaled, -1)
            assert torch.isfinite(logp[y])  # the token lies in the top-5 of logits / T
            total += float(logp[y])
            prefix.append(y)
        assert score == pytest.approx(total, rel=1e-5, abs=1e-5)
    assert len({tuple(s) for s in out.tolist()[0]}) > 1


def reference_beam_search(dec, prompt, num_beams, steps, temperature):
    """Plain beam search with no end token, recomputing every prefix from scratch: each step
    keeps the ``num_beams`` best of all ``beam x vocab`` continuations, ranked by the running
    sum of log softmax(logits / T). Returns ``[(tokens, sum of log-probs)]``, best first."""
    beams = [((), 0.0)]
    for _ in range(steps):
        cands = []
        for seq, score in beams:
            logp = torch.log_softmax(next_logits(dec, prompt + list(seq)) / temperature, -1)
            cands += [(seq + (y,), score + float(logp[y])) for y in range(VOCAB)]
        cands.sort(key=lambda c: -c[1])
        beams = cands[:num_beams]
    return beams


@pytest.mark.parametrize("temperature", [0.5, 2.5])
@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_beam_search_at_temperature_matches_a_reference(decoder, temperature, length_penalty):
    """Tokens and scores of every returned beam equal the reference beam search run on
    log softmax(logits / T) (score = sum / L ** length_penalty, L = 3 here); at T != 1 those
    scores differ from the untempered ones, so ignoring T (or dividing the log-probabilities
    instead of the logits) fails."""
    beams, steps = 3, 3
    out = decoder.beam_search([PROMPT], num_beams=beams, max_new_tokens=steps,
                              num_return_sequences=beams, length_penalty=length_penalty,
                              temperature=temperature)
    ref = reference_beam_search(decoder, PROMPT, beams, steps, temperature)
    assert out.tolist()[0] == [list(seq) for seq, _ in ref]
    want = torch.tensor([s / steps**length_penalty for _, s in ref], dtype=torch.float64)
    torch.testing.assert_close(out.scores[0].double(), want, rtol=1e-5, atol=1e-5)
    untempered = reference_beam_search(decoder, PROMPT, beams, steps, 1.0)
    assert abs(untempered[0][1] - ref[0][1]) > 0.1
