"""MH / CGMH text sampler: acceptance formula, exact stationarity, chi-square, keywords."""

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from kexue.decoding.mcmc import CGMHSampler, Path, TextState, mh_log_acceptance

VOCAB = ("a", "b", "c")
BIGRAM = {("<s>", "a"): 0.5, ("<s>", "b"): 0.3, ("<s>", "c"): 0.2, ("a", "a"): 0.1,
          ("a", "b"): 0.5, ("a", "c"): 0.2, ("b", "a"): 0.3, ("b", "b"): 0.1, ("b", "c"): 0.3,
          ("c", "a"): 0.4, ("c", "b"): 0.2, ("c", "c"): 0.1}
END = {"a": 0.2, "b": 0.3, "c": 0.3}


def log_bigram(tokens):
    prev, lp = "<s>", 0.0
    for t in tokens:
        lp += math.log(BIGRAM[prev, t])
        prev = t
    return lp + math.log(END[prev]) if tokens else -math.inf


def fixed_proposal(context, slot):  # an MLM-like proposal independent of the target
    weights = {"a": 1.0 + slot, "b": 2.0, "c": 0.5 + len(context)}
    return list(weights), [math.log(w) for w in weights.values()]


def _states(max_len):
    return [TextState(t) for n in range(1, max_len + 1) for t in itertools.product(VOCAB, repeat=n)]


def test_acceptance_equals_its_formula():
    s = CGMHSampler(log_bigram, proposal=fixed_proposal, mask="_", max_len=3)
    x = TextState(("a", "c"))
    path = Path("insert", 1, "b")
    y = s.apply(x, path)
    assert y.tokens == ("a", "b", "c")
    w = {"a": 2.0, "b": 2.0, "c": 3.5}  # fixed_proposal at slot 1 of a 3-token context
    q_fwd = (1 / 3) * (1 / 3) * w["b"] / sum(w.values())  # 3 ops, 3 slots, token b
    q_rev = (1 / 2) * (1 / 3)  # y: 2 ops (no insert at max_len 3), delete 1 of 3 positions
    want = min(0.0, log_bigram(y.tokens) + math.log(q_rev) - log_bigram(x.tokens)
               - math.log(q_fwd))
    assert s.log_acceptance(x, path) == pytest.approx(want, abs=1e-12)
    assert mh_log_acceptance(0.0, 1.0, -1.0, -1.0) == 0.0
    assert mh_log_acceptance(1.0, 0.0, -1.0, -1.0) == pytest.approx(-1.0)


@pytest.mark.parametrize("proposal", ["target", fixed_proposal])
def test_exact_transition_matrix_has_the_target_as_stationary_distribution(proposal):
    s = CGMHSampler(log_bigram, vocab=VOCAB, proposal=proposal, mask="_", max_len=3)
    states = _states(3)
    index = {st: k for k, st in enumerate(states)}
    P = np.zeros((len(states), len(states)))
    for x in states:
        for op in s.available_ops(x):
            for i in s.positions(x, op):
                toks = [None] if op == "delete" else s.candidates(x, op, i)[0]
                for c in toks:
                    path = Path(op, i, c)
                    p = math.exp(s.log_q(x, path) + s.log_acceptance(x, path))
                    P[index[x], index[s.apply(x, path)]] += p
        P[index[x], index[x]] += 1 - P[index[x]].sum()
    pi = np.exp([log_bigram(st.tokens) for st in states])
    pi /= pi.sum()
    np.testing.assert_allclose(pi @ P, pi, atol=1e-12)
    flow = pi[:, None] * P
    np.testing.assert_allclose(flow, flow.T, atol=1e-12)  # detailed balance
    assert (P >= -1e-15).all()


def test_sampled_chain_matches_the_target_chi_square():
    stats = pytest.importorskip("scipy.stats")
    s = CGMHSampler(log_bigram, vocab=VOCAB, proposal=fixed_proposal, mask="_", max_len=2)
    states = _states(2)
    visits = Counter(v.tokens for v in s.run(TextState(("a",)), 9000, seed=0)[1000::3])
    counts = np.array([visits[st.tokens] for st in states])
    pi = np.exp([log_bigram(st.tokens) for st in states])
    pi /= pi.sum()
    p_value = stats.chisquare(counts, pi * counts.sum()).pvalue
    assert p_value > 1e-3, (counts, pi * counts.sum())


def test_target_proposal_replace_only_is_gibbs_with_acceptance_one():
    s = CGMHSampler(log_bigram, vocab=VOCAB, ops=("replace",), max_len=4)
    s.run(TextState(("a", "b", "c")), 200, seed=1)
    assert s.acceptance_rates()["replace"] == 1.0


def test_keywords_stay_in_order_and_annealing_climbs():
    target = ("b", "a", "b", "c")

    def score(tokens):  # maximised at the target sequence
        return -sum(x != y for x, y in zip(tokens, target)) - 2 * abs(len(tokens) - 4)

    s = CGMHSampler(score, vocab=VOCAB, max_len=6, temperature=lambda t: max(0.02, 1 - t / 300))
    start = TextState(("a", "c"), (True, True))
    chain = s.run(start, 400, seed=2)
    for st in chain:
        kept = [t for t, lk in zip(st.tokens, st.locked) if lk]
        assert kept == ["a", "c"]
    best = max(chain, key=lambda st: score(st.tokens))
    assert best.tokens == target  # the maximiser is reached
    assert score(chain[-1].tokens) >= -1  # and the cooled chain stays near it
    with pytest.raises(ValueError, match="ops"):
        CGMHSampler(score, vocab=VOCAB, ops=("swap",))
