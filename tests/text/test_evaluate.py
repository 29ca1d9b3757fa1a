import math

import pytest

from kexue.text import bits_per_char, merge_gain, merge_gain_approx, score_segmentation


def test_score_by_spans():
    gold = [["科学", "空间", "，", "欢迎"]]
    pred = [["科学", "空", "间", "，", "欢迎"]]
    s = score_segmentation(gold, pred)
    assert (s.correct, s.predicted, s.gold) == (3, 5, 4)
    assert s.precision == 3 / 5 and s.recall == 3 / 4
    assert math.isclose(s.f1, 2 * 0.6 * 0.75 / 1.35)
    s0 = score_segmentation(gold, pred, punctuation=False)
    assert (s0.correct, s0.predicted, s0.gold) == (2, 4, 3)
    perfect = score_segmentation(gold, gold)
    assert perfect.f1 == 1.0


def test_score_errors():
    with pytest.raises(ValueError, match="line 1: predicted tokens do not join"):
        score_segmentation([["ab"]], [["a", "c"]])
    with pytest.raises(ValueError, match="number of lines"):
        score_segmentation([["a"], ["b"]], [["a"]])
    with pytest.raises(ValueError, match="no tokens"):
        score_segmentation([[]], [[]])


def test_bits_per_char_of_real_text(shared_data):
    """Article 5476: ~9.65 bits per Chinese character; a good segmentation costs far less."""
    path = shared_data("peoples_daily_199801", "seg_gold.utf8")
    with open(path, encoding="utf-8") as f:
        gold = [line.split() for line in f]
    chars = bits_per_char(c for line in gold for t in line for c in t if c.isalnum())
    words = bits_per_char(t for line in gold for t in line)
    assert abs(chars["L"] - 9.65) < 0.05 and chars["l"] == pytest.approx(1.0)
    assert 6.5 < words["L"] < 7.0 and words["H"] > chars["H"]
    with pytest.raises(ValueError):
        bits_per_char(["，", "。"])


def test_bits_per_char_closed_form():
    # two equally likely 2-character words: H = 1 bit, l = 2, L = 0.5
    r = bits_per_char({"ab": 3, "cd": 3})
    assert r == {"H": 1.0, "l": 2.0, "L": 0.5, "words": 6.0}


def _entropy_per_char(counts, lengths):
    n = sum(counts.values())
    h = -sum(c / n * math.log(c / n) for c in counts.values() if c)
    return h / sum(c / n * lengths[k] for k, c in counts.items()), sum(
        c / n * lengths[k] for k, c in counts.items()
    )


@pytest.mark.parametrize("n_ab", [1, 5, 20, 40])
def test_merge_gain_is_the_exact_change_in_bits_per_char(n_ab):
    """H̃/l̃ − H/l = −F_ab / l, checked by actually merging on a toy count table (5476)."""
    counts = {"a": 50, "b": 40, "c": 30, "d": 80}
    lengths = {"a": 1, "b": 1, "c": 2, "d": 1, "ab": 2}
    before, l_before = _entropy_per_char(counts, lengths)
    merged = dict(counts, a=50 - n_ab, b=40 - n_ab, ab=n_ab)
    after, l_after = _entropy_per_char(merged, lengths)
    total = sum(counts.values())
    f = merge_gain(50 / total, 40 / total, n_ab / total)
    assert after - before == pytest.approx(-f / l_before, rel=1e-12, abs=1e-15)
    assert l_after == pytest.approx(l_before / (1 - n_ab / total))
    assert merge_gain_approx(50 / total, 40 / total, n_ab / total) <= f


def test_merge_gain_sign_follows_pmi():
    # rare pair of frequent units: PMI < 1 → merging raises the cost
    assert merge_gain(0.1, 0.1, 0.01) < 0
    # a pair that almost always co-occurs: merging pays
    assert merge_gain(0.01, 0.01, 0.009) > 0
    with pytest.raises(ValueError):
        merge_gain(0.1, 0.1, 0.2)
