"""Answer scoring in the manner of the Sogou CIPS 2017 scorer (the DGCNN release's
``evaluate_tool``): normalise case, width, punctuation and spaces; exact match = the
normalised prediction equals a normalised gold answer; F1 = character-overlap F1, the maximum
over the gold answers. The scorer's answer-synonym expansion file is not used (not shipped
here), so these scores are strict.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence

__all__ = ["normalize_answer", "exact_match", "char_f1", "score_answers"]


def normalize_answer(text: str) -> str:
    """NFKC (full width → half width), lower case, drop punctuation, symbols and spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(c for c in text
                   if unicodedata.category(c)[0] not in "PZC" and not c.isspace()
                   and unicodedata.category(c) not in ("Sk", "Sm"))


def exact_match(pred: str | None, gold: Sequence[str]) -> float:
    if pred is None:
        return 0.0
    p = normalize_answer(pred)
    return float(any(p == normalize_answer(g) for g in gold))


def char_f1(pred: str | None, gold: Sequence[str]) -> float:
    """Max over the gold answers of the character-overlap F1 (multiset overlap)."""
    if pred is None:
        return 0.0
    p = Counter(normalize_answer(pred))
    best = 0.0
    for g in gold:
        gc = Counter(normalize_answer(g))
        common = sum((p & gc).values())
        if common:
            prec, rec = common / sum(p.values()), common / sum(gc.values())
            best = max(best, 2 * prec * rec / (prec + rec))
    return best


def score_answers(preds: Sequence[str | None], golds: Sequence[Sequence[str]]) -> dict:
    """Mean exact match, mean F1 and their mean (the Sogou leaderboard score) in [0, 1]."""
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} predictions for {len(golds)} questions")
    if not preds:
        raise ValueError("no question to score")
    em = sum(exact_match(p, g) for p, g in zip(preds, golds)) / len(preds)
    f1 = sum(char_f1(p, g) for p, g in zip(preds, golds)) / len(preds)
    return {"em": em, "f1": f1, "score": (em + f1) / 2, "n": len(preds)}
