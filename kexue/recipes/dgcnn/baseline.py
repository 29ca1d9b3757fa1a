"""A lexical answer-extraction baseline for the DGCNN recipe (no learning).

The answer of a factoid question usually sits right next to the words the passage shares
with the question ("多瑙河注入哪个海？" → "…多瑙河注入**黑海**"). The baseline:

1. candidates: the maximal runs of passage characters that are neither question characters
   nor punctuation/space (a run longer than ``max_units`` gives its first and its last
   ``max_units``-unit piece);
2. score of a candidate: the number of distinct question characters within ``window``
   characters on either side of it (the overlap of its context window with the question);
3. the answer: the best-scoring candidate over all passages (ties: the shorter, then the
   first).

``window`` is chosen on the training split (``choose_window``); nothing is learned.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from kexue.recipes.dgcnn.data import Question, normalize_chars
from kexue.recipes.dgcnn.decode import span_units
from kexue.recipes.dgcnn.metrics import score_answers

__all__ = ["lexical_candidates", "lexical_answer", "choose_window"]


def _is_sep(c: str) -> bool:
    return c.isspace() or unicodedata.category(c)[0] in "PZCS"


def lexical_candidates(question: str, passage: str,
                       max_units: float = 10.0) -> list[tuple[int, int]]:
    """``(start, end)`` (end exclusive) of the candidate runs."""
    q = set(normalize_chars(question))
    p = normalize_chars(passage)
    runs, i = [], 0
    while i < len(p):
        if p[i] in q or _is_sep(p[i]):
            i += 1
            continue
        j = i
        while j < len(p) and not (p[j] in q or _is_sep(p[j])):
            j += 1
        runs.append((i, j))
        i = j
    out = []
    for s, e in runs:
        if span_units(p[s:e]) <= max_units:
            out.append((s, e))
            continue
        k = s  # first piece
        while k < e and span_units(p[s:k + 1]) <= max_units:
            k += 1
        out.append((s, k))
        k = e
        while k > s and span_units(p[k - 1:e]) <= max_units:
            k -= 1
        out.append((k, e))
    return out


def lexical_answer(q: Question, window: int = 8, max_units: float = 10.0) -> str | None:
    """The baseline's answer to one question (``None`` when no passage has a candidate)."""
    qchars = {c for c in normalize_chars(q.question) if not _is_sep(c)}
    best, best_key = None, None
    for passage in q.passages:
        p = normalize_chars(passage)
        for s, e in lexical_candidates(q.question, passage, max_units):
            context = set(p[max(0, s - window):s]) | set(p[e:e + window])
            key = (len(context & qchars), -(e - s))
            if best_key is None or key > best_key:
                best, best_key = passage[s:e], key
    return best


def choose_window(train: Sequence[Question], windows: Sequence[int] = (2, 4, 6, 8, 12, 16, 24),
                  max_units: float = 10.0) -> tuple[int, dict[int, float]]:
    """The window with the best EM+F1 on ``train`` (ties: the smaller) and every window's score."""
    scores = {}
    for w in windows:
        preds = [lexical_answer(q, w, max_units) for q in train]
        scores[w] = score_answers(preds, [q.gold for q in train])["score"]
    best = max(windows, key=lambda w: (scores[w], -w))
    return best, scores
