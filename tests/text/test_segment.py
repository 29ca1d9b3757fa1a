import itertools
import math

import numpy as np
import pytest

from kexue.text import Segmenter


def brute_force(lexicon, text):
    """Best segmentation by enumerating every split (float64 reference of the DP)."""
    total = sum(lexicon.values())
    best, best_score = None, -math.inf
    n = len(text)
    for cuts in itertools.product([0, 1], repeat=n - 1):
        pieces, start = [], 0
        for i, c in enumerate(cuts, 1):
            if c:
                pieces.append(text[start:i])
                start = i
        pieces.append(text[start:])
        score = 0.0
        for p in pieces:
            if p in lexicon:
                score += math.log(lexicon[p] / total)
            elif len(p) == 1:
                score += math.log(1 / total)
            else:
                score = -math.inf
                break
        if score > best_score + 1e-12:
            best, best_score = pieces, score
    return best, best_score


def test_dp_is_the_max_probability_path():
    rng = np.random.default_rng(0)
    alphabet = "abcde"
    for _ in range(60):
        lex = {}
        for _ in range(12):
            w = "".join(rng.choice(list(alphabet), int(rng.integers(1, 4))))
            lex[w] = int(rng.integers(1, 50))
        text = "".join(rng.choice(list(alphabet), int(rng.integers(1, 10))))
        seg = Segmenter(lex)
        got = seg.cut(text)
        ref, ref_score = brute_force(lex, text)
        total = sum(lex.values())
        score = sum(math.log(lex.get(p, 1) / total) for p in got)
        assert "".join(got) == text
        assert score == pytest.approx(ref_score, abs=1e-9), (lex, text, got, ref)


def test_non_word_characters():
    seg = Segmenter({"科学": 10, "空间": 8})
    assert seg.cut("科学空间——科学 空间……ok!!") == [
        "科学", "空间", "——", "科学", "空间", "……", "o", "k", "!!"
    ]
    assert seg.cut("") == []
    assert seg.cut("  \n") == []


def test_bad_lexicon():
    with pytest.raises(ValueError, match="positive count"):
        Segmenter({"a": 0})
    with pytest.raises(ValueError, match="non-empty"):
        Segmenter({"": 3})
    with pytest.raises(ValueError, match="finite"):
        Segmenter({"a": float("nan")})
    with pytest.raises(TypeError):
        Segmenter({"a": 1}).cut(None)
