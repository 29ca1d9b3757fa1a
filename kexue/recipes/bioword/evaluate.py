"""Word-similarity and analogy evaluation for dense and binary word vectors.

Formats (``../shared/data/wordsim/README.md``):

- similarity: ``word1<TAB>word2<TAB>score`` (wordsim-240/297; fields stripped, CRLF allowed)
  or ``word1 word2 mean a1 ... a15`` (COS960, space separated); the score is the third field;
- analogy: ``a b c d`` lines under ``: category`` headers (CA8, cwe_analogy).

Similarity: Spearman's ρ between human scores and the vectors' similarity over the pairs whose
two words are both in the vocabulary (the number used is reported). Analogy: 3CosAdd over the
whole vocabulary excluding a, b and c, on the questions whose four words are in the
vocabulary (out-of-vocabulary questions are skipped and counted).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["SimilarityResult", "analogy_accuracy", "cosine", "evaluate_similarity", "hamming",
           "jaccard", "rank", "read_analogy", "read_similarity", "spearman"]


def _read_text(path: str | os.PathLike) -> list[str]:
    from kexue.cli._exitcodes import check_input_file

    p = check_input_file(path, "evaluation file")
    try:
        return p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def read_similarity(path: str | os.PathLike) -> list[tuple[str, str, float]]:
    """``(word1, word2, score)`` of a similarity set (tab or space separated)."""
    out = []
    for n, line in enumerate(_read_text(path), 1):
        if not line.strip():
            continue
        fields = [f.strip() for f in (line.split("\t") if "\t" in line else line.split())]
        try:
            if len(fields) < 3 or not fields[0] or not fields[1]:
                raise ValueError
            out.append((fields[0], fields[1], float(fields[2])))
        except ValueError:
            raise ValueError(f"{path}: line {n} is not 'word1 word2 score': {line[:60]!r}"
                             ) from None
    if not out:
        raise ValueError(f"{path}: no word pairs found")
    return out


def read_analogy(path: str | os.PathLike) -> list[tuple[str, str, str, str, str]]:
    """``(category, a, b, c, d)`` of an analogy set."""
    out, cat = [], ""
    for n, line in enumerate(_read_text(path), 1):
        if not line.strip():
            continue
        if line.startswith(":"):
            cat = line[1:].strip()
            continue
        fields = line.split()
        if len(fields) != 4:
            raise ValueError(f"{path}: line {n} is not 'a b c d': {line[:60]!r}")
        out.append((cat, *fields))
    if not out:
        raise ValueError(f"{path}: no analogy questions found")
    return out


def rank(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    sx = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sx[j + 1] == sx[i]:
            j += 1
        ranks[order[i:j + 1]] = 0.5 * (i + j) + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's ρ: the Pearson correlation of the (tie-averaged) ranks; NaN when a side
    is constant."""
    rx, ry = rank(np.asarray(x)), rank(np.asarray(y))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / den) if den > 0 else float("nan")


def cosine(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> np.ndarray:
    """Row-wise cosine similarity."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return (a * b).sum(1) / np.where(den > 0, den, 1.0)


def jaccard(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Row-wise Jaccard similarity |a ∧ b| / |a ∨ b| of 0/1 rows."""
    a, b = np.asarray(a).astype(bool), np.asarray(b).astype(bool)
    inter = (a & b).sum(1)
    union = (a | b).sum(1)
    return inter / np.where(union > 0, union, 1)


def hamming(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Row-wise Hamming similarity ``1 − d_H / K`` of 0/1 rows."""
    a, b = np.asarray(a).astype(bool), np.asarray(b).astype(bool)
    return 1.0 - (a != b).mean(1)


@dataclass(frozen=True)
class SimilarityResult:
    rho: float
    used: int
    total: int


def evaluate_similarity(pairs: Sequence[tuple[str, str, float]], index: Mapping[str, int],
                        vectors, similarity: Callable) -> SimilarityResult:
    """Spearman ρ of ``similarity(vectors[w1], vectors[w2])`` against the human scores over
    the in-vocabulary pairs."""
    kept = [(index[a], index[b], s) for a, b, s in pairs if a in index and b in index]
    if len(kept) < 3:
        return SimilarityResult(float("nan"), len(kept), len(pairs))
    i = np.array([k[0] for k in kept])
    j = np.array([k[1] for k in kept])
    v = np.asarray(vectors)
    sims = similarity(v[i], v[j])
    return SimilarityResult(spearman(sims, [k[2] for k in kept]), len(kept), len(pairs))


def analogy_accuracy(questions: Sequence[tuple[str, str, str, str, str]],
                     index: Mapping[str, int], vectors) -> tuple[float, int, int]:
    """3CosAdd accuracy ``(accuracy, used, total)``: d̂ = argmax cos(x, b − a + c) over the
    vocabulary minus {a, b, c}, on unit-normalised vectors."""
    q = [(index[a], index[b], index[c], index[d]) for _, a, b, c, d in questions
         if a in index and b in index and c in index and d in index]
    if not q:
        return float("nan"), 0, len(questions)
    v = np.asarray(vectors, dtype=np.float32)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    ids = np.array(q)
    correct = 0
    for s in range(0, len(ids), 512):
        b = ids[s:s + 512]
        target = v[b[:, 1]] - v[b[:, 0]] + v[b[:, 2]]
        scores = target @ v.T
        rows = np.arange(len(b))
        for col in range(3):
            scores[rows, b[:, col]] = -np.inf
        correct += int((scores.argmax(1) == b[:, 3]).sum())
    return correct / len(ids), len(ids), len(questions)
