"""Scoring a segmentation against gold, and the minimum-entropy cost of a segmentation.

**Word P/R/F1** (the SIGHAN bakeoff measure): a predicted word is correct when the same
character span ``[start, end)`` is a gold word of the same line; ``P = correct / predicted``,
``R = correct / gold``, ``F1 = 2PR / (P + R)``. "Without punctuation" drops, on both sides, the
tokens that contain no word character (``str.isalnum``) before counting.

**Bits per character** (https://kexue.fm/archives/5476): with word frequencies ``p_w`` of a
segmented corpus, ``H = −Σ p_w log2 p_w`` bits per word, ``l = Σ p_w l_w`` characters per word,
and ``L = H / l`` bits per character — the average cost of memorising the text with that
lexicon; lower is better. Characters alone give ``H_c ≈ 9.65`` bits (article); a good
segmentation reaches ≈ 7 (article: WeChat, ≈ 7.2). Computed over word tokens only (tokens
without a word character are left out) so that ``l`` counts word characters.

Also here: the merge gain ``F_ab`` of 5476, whose sign decides whether merging ``a, b`` into one
unit lowers ``L``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "Score",
    "score_segmentation",
    "bits_per_char",
    "merge_gain",
    "merge_gain_approx",
    "is_punctuation_token",
]


def is_punctuation_token(token: str) -> bool:
    """True when ``token`` has no word character (letters, digits, CJK)."""
    return not any(c.isalnum() for c in token)


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    correct: int
    predicted: int
    gold: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "correct": self.correct,
            "predicted": self.predicted,
            "gold": self.gold,
        }


def _spans(tokens: Sequence[str], punctuation: bool) -> set[tuple[int, int]]:
    spans = set()
    pos = 0
    for t in tokens:
        end = pos + len(t)
        if punctuation or not is_punctuation_token(t):
            spans.add((pos, end))
        pos = end
    return spans


def score_segmentation(
    gold: Iterable[Sequence[str]],
    predicted: Iterable[Sequence[str]],
    punctuation: bool = True,
) -> Score:
    """Word-level P/R/F1 of ``predicted`` token lists against ``gold`` token lists, line by line.

    Each pair of lines must join to the same string (whitespace ignored), else ``ValueError``
    names the line; a different number of lines is a ``ValueError`` too.
    """
    correct = n_pred = n_gold = 0
    gi, pi = iter(gold), iter(predicted)
    lineno = 0
    sentinel = object()
    while True:
        g = next(gi, sentinel)
        p = next(pi, sentinel)
        if g is sentinel and p is sentinel:
            break
        lineno += 1
        if g is sentinel or p is sentinel:
            raise ValueError(f"gold and predicted differ in number of lines (at line {lineno})")
        g = [t for t in g if t.strip()]
        p = [t for t in p if t.strip()]
        if "".join(g) != "".join(p):
            raise ValueError(
                f"line {lineno}: predicted tokens do not join to the gold text "
                f"({''.join(p)[:30]!r}... vs {''.join(g)[:30]!r}...)"
            )
        gs = _spans(g, punctuation)
        ps = _spans(p, punctuation)
        correct += len(gs & ps)
        n_pred += len(ps)
        n_gold += len(gs)
    if n_gold == 0:
        raise ValueError("gold has no tokens to score")
    prec = correct / n_pred if n_pred else 0.0
    rec = correct / n_gold
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return Score(prec, rec, f1, correct, n_pred, n_gold)


def bits_per_char(
    tokens: Iterable[str] | Mapping[str, int],
) -> dict[str, float]:
    """``{"H": bits/word, "l": chars/word, "L": bits/char, "words": N}`` of a segmentation.

    ``tokens``: an iterable of tokens, or a ``{word: count}`` table. Tokens without a word
    character are ignored; an empty input raises ``ValueError``.
    """
    counts = Counter(tokens) if not isinstance(tokens, Mapping) else Counter(dict(tokens))
    items = [(w, c) for w, c in counts.items() if c > 0 and not is_punctuation_token(w)]
    n = sum(c for _, c in items)
    if n == 0:
        raise ValueError("no word tokens to measure")
    h = -sum(c / n * math.log2(c / n) for _, c in items)
    length = sum(c / n * len(w) for w, c in items)
    return {"H": h, "l": length, "L": h / length, "words": float(n)}


def merge_gain(p_a: float, p_b: float, p_ab: float) -> float:
    """Exact ``F_ab`` (nats) of merging units ``a, b`` (archives/5476, eq. for H̃/l̃ − H/l).

    ``H̃/l̃ − H/l = −F_ab / l`` where ``H`` is the per-unit entropy (nats) and ``l`` the mean
    unit length before the merge:

        F_ab = p_ab ln(p_ab / (p_a p_b)) − (1 − p_ab) ln(1 − p_ab)
               + Σ_{i∈{a,b}} (p_i − p_ab) ln(1 − p_ab / p_i)

    Requires ``0 < p_ab ≤ min(p_a, p_b)`` and ``p_a + p_b − p_ab ≤ 1`` (for ``a ≠ b``).
    """
    if not (0 < p_ab <= min(p_a, p_b)) or p_a + p_b - p_ab > 1 + 1e-12:
        raise ValueError(f"need 0 < p_ab <= min(p_a, p_b) and p_a + p_b - p_ab <= 1, got "
                         f"p_a={p_a}, p_b={p_b}, p_ab={p_ab}")
    f = p_ab * math.log(p_ab / (p_a * p_b)) - (1 - p_ab) * math.log1p(-p_ab)
    for p_i in (p_a, p_b):
        if p_i > p_ab:
            f += (p_i - p_ab) * math.log1p(-p_ab / p_i)
    return f


def merge_gain_approx(p_a: float, p_b: float, p_ab: float) -> float:
    """``F*_ab = p_ab (ln(p_ab / (p_a p_b)) − 1)``, the lower bound of :func:`merge_gain`.

    Merging can only help when PMI ``ln(p_ab / (p_a p_b)) > 1`` nat (archives/5476).
    """
    if not (0 < p_ab <= min(p_a, p_b)):
        raise ValueError("need 0 < p_ab <= min(p_a, p_b)")
    return p_ab * (math.log(p_ab / (p_a * p_b)) - 1)
