"""ROUGE equals the PyPI ``rouge`` package (1.0.1) on space-joined tokens."""

import random

import pytest

from kexue.text.rouge import lcs_pairs, rouge_scores, weighted_rouge

rouge = pytest.importorskip("rouge")


def _random_tokens(rng: random.Random, alphabet: str) -> list[str]:
    return [rng.choice(alphabet) for _ in range(rng.randint(1, 14))]


@pytest.mark.parametrize("distinct", [True, False])
def test_equals_rouge_package_on_random_token_lists(distinct):
    rng = random.Random(0)
    ref_pkg = rouge.Rouge(exclusive=distinct)
    for trial in range(400):
        alphabet = "abcdefgh"[: rng.randint(2, 8)]
        hyp, ref = _random_tokens(rng, alphabet), _random_tokens(rng, alphabet)
        if trial % 3 == 0:  # multi-character tokens (words)
            hyp = [t * rng.randint(1, 2) for t in hyp]
            ref = [t * rng.randint(1, 2) for t in ref]
        want = ref_pkg.get_scores(" ".join(hyp), " ".join(ref))[0]
        got = rouge_scores(hyp, ref, distinct=distinct)
        for key in ("rouge-1", "rouge-2", "rouge-l"):
            for field in ("p", "r", "f"):
                assert getattr(got[key], field) == pytest.approx(want[key][field], abs=1e-12), (
                    hyp, ref, key, field)


def test_char_and_word_units_on_chinese():
    hyp, ref = "我爱我的祖国", "我真的非常热爱我的祖国"
    want = rouge.Rouge().get_scores(" ".join(hyp), " ".join(ref))[0]
    got = weighted_rouge(hyp, ref, unit="char")
    assert got == pytest.approx(
        0.2 * want["rouge-1"]["f"] + 0.4 * want["rouge-2"]["f"] + 0.4 * want["rouge-l"]["f"],
        abs=1e-12)
    assert weighted_rouge(ref, ref, unit="word") == pytest.approx(1.0, abs=1e-7)
    assert weighted_rouge("", ref) == 0.0
    with pytest.raises(ValueError, match="unit"):
        weighted_rouge(hyp, ref, unit="byte")


def test_lcs_pairs_is_a_longest_common_subsequence():
    rng = random.Random(1)
    for _ in range(200):
        a, b = _random_tokens(rng, "abc"), _random_tokens(rng, "abc")
        pairs = lcs_pairs(a, b)
        assert all(a[i] == b[j] for i, j in pairs)
        assert all(p[0] < q[0] and p[1] < q[1] for p, q in zip(pairs, pairs[1:]))
        # brute-force LCS length
        best = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i in range(len(a)):
            for j in range(len(b)):
                best[i + 1][j + 1] = (best[i][j] + 1 if a[i] == b[j]
                                      else max(best[i][j + 1], best[i + 1][j]))
        assert len(pairs) == best[-1][-1]
