"""DGCNN span decoding (kexue.fm/archives/5409): span scores, per-passage max, cross-passage vote.

- A candidate span of a passage is at most ``max_units`` "words" long, counting a CJK
  character as 1 and an ASCII letter or digit as ½ (the article's rule, 10 by default).
- Its score is the **product** ``p_start[i] · p_end[j]`` (the article found it 1 point better
  than the geometric mean).
- Within one passage each distinct answer string keeps its maximum score.
- Across the passages of a question, answer ``a`` with per-passage scores ``s_{a,i}`` gets
  :math:`s_a = \\frac{\\sum_i s_{a,i}^2}{1 + \\sum_i s_{a,i}}`,
  which rewards an answer found in many passages but lets one confident passage beat several
  weak ones (the article's example: (A, 0.7) once beats (B, 0.2) four times, 0.288 > 0.089).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["span_units", "passage_candidates", "vote", "decode_question"]


def span_units(text: str) -> float:
    """Length in the article's units: ASCII letters and digits ½, anything else 1."""
    return sum(0.5 if (c.isascii() and c.isalnum()) else 1.0 for c in text)


def passage_candidates(passage: str, p_start: Sequence[float], p_end: Sequence[float], *,
                       max_units: float = 10.0, top: int | None = None) -> dict[str, float]:
    """``{answer string: max product score}`` over the spans of one passage.

    ``p_start`` / ``p_end`` hold one probability per character of ``passage`` (a longer
    passage than the scores is cut to them). ``top`` keeps only the best ``top`` strings.
    """
    s = np.asarray(p_start, dtype=np.float64)
    e = np.asarray(p_end, dtype=np.float64)
    n = min(len(passage), len(s), len(e))
    units = np.array([span_units(c) for c in passage[:n]])
    cum = np.concatenate([[0.0], np.cumsum(units)])
    best: dict[str, float] = {}
    for i in range(n):
        for j in range(i, n):
            if cum[j + 1] - cum[i] > max_units:
                break
            score = float(s[i] * e[j])
            text = passage[i: j + 1]
            if score > best.get(text, -1.0):
                best[text] = score
    if top is not None:
        best = dict(sorted(best.items(), key=lambda kv: -kv[1])[:top])
    return best


def vote(per_passage: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Combine per-passage scores: ``s_a = Σ_i s_{a,i}² / (1 + Σ_i s_{a,i})`` (a passage
    without ``a`` contributes nothing)."""
    sq: dict[str, float] = {}
    lin: dict[str, float] = {}
    for scores in per_passage:
        for a, v in scores.items():
            sq[a] = sq.get(a, 0.0) + v * v
            lin[a] = lin.get(a, 0.0) + v
    return {a: sq[a] / (1.0 + lin[a]) for a in sq}


def decode_question(passages: Sequence[str], starts: Sequence[Sequence[float]],
                    ends: Sequence[Sequence[float]], *, max_units: float = 10.0,
                    threshold: float = 0.0) -> tuple[str | None, float]:
    """The voted best answer of one question and its score; ``None`` when no candidate
    reaches ``threshold`` (the release used 0.1 to answer "no answer")."""
    if not (len(passages) == len(starts) == len(ends)):
        raise ValueError("one start and one end vector per passage")
    voted = vote([passage_candidates(p, s, e, max_units=max_units, top=20)
                  for p, s, e in zip(passages, starts, ends)])
    if not voted:
        return None, 0.0
    best = max(voted.items(), key=lambda kv: (kv[1], -len(kv[0])))
    if best[1] < threshold:
        return None, best[1]
    return best
