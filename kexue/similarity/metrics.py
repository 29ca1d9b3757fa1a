"""Similarity metrics: row cosines, Spearman's ρ (×100, ties averaged), binary F1 with a
threshold chosen on training data, and the results table in the layout of kexue.fm/archives/8321
and 8454 (one row per model/pooling, one column per task, cells ``a/b/c`` for
no whitening / whitening / whitening-k).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["best_threshold", "binary_f1", "cosine", "format_table", "rank", "spearman"]


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of each row of ``a`` with the same row of ``b`` (float64). A zero vector is an
    error: its direction is undefined."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two (n, d) arrays of one shape, got {a.shape} and {b.shape}")
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    if (na == 0).any() or (nb == 0).any():
        raise ValueError("a sentence vector is zero: its cosine is undefined")
    return (a * b).sum(1) / (na * nb)


def rank(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties given their average rank (as ``scipy.stats.rankdata``)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.r_[0, np.flatnonzero(np.diff(xs) != 0) + 1]
    ends = np.r_[starts[1:], len(xs)]
    avg = (starts + ends + 1) / 2.0  # mean of the 1-based ranks start+1..end
    r = np.empty(len(x))
    r[order] = np.repeat(avg, ends - starts)
    return r


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Spearman's ρ = Pearson correlation of the (tie-averaged) ranks; NaN when either side is
    constant."""
    rx, ry = rank(np.asarray(x)), rank(np.asarray(y))
    if len(rx) != len(ry) or len(rx) < 2:
        raise ValueError(f"need two sequences of one length >= 2, got {len(rx)} and {len(ry)}")
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = np.sqrt((rx ** 2).sum() * (ry ** 2).sum())
    return float((rx * ry).sum() / den) if den > 0 else float("nan")


def binary_f1(pred: np.ndarray, labels: np.ndarray) -> float:
    """F1 of the positive class (0 when there is no true or predicted positive)."""
    p = np.asarray(pred).astype(bool)
    y = np.asarray(labels).astype(bool)
    tp = int((p & y).sum())
    denom = int(p.sum()) + int(y.sum())
    return 2 * tp / denom if denom else 0.0


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold ``t`` maximising :func:`binary_f1` of ``scores > t`` on (training)
    data: midpoints between consecutive distinct scores are tried."""
    s = np.unique(np.asarray(scores, dtype=np.float64))
    cands = np.r_[s[0] - 1, (s[1:] + s[:-1]) / 2] if len(s) > 1 else s - 1
    f1 = [binary_f1(np.asarray(scores) > t, labels) for t in cands]
    return float(cands[int(np.argmax(f1))])


def format_table(rows: Mapping[str, Mapping[str, float | Sequence[float]]],
                 tasks: Sequence[str], *, digits: int = 2) -> str:
    """A Markdown table: one row per key of ``rows``, one column per task; a cell holding a
    sequence prints as ``a/b/c`` (8454's no whitening / whitening / whitening-k)."""
    def cell(v) -> str:
        if v is None:
            return "–"
        if isinstance(v, int | float | np.floating):
            return f"{float(v):.{digits}f}"
        return "/".join(cell(x) for x in v)

    head = "| | " + " | ".join(tasks) + " |"
    sep = "|---|" + "---|" * len(tasks)
    body = ["| " + name + " | " + " | ".join(cell(r.get(t)) for t in tasks) + " |"
            for name, r in rows.items()]
    return "\n".join([head, sep, *body])
