"""Evaluation on the senteval_cn sets and the Sohu 2021 samples.

* :func:`spearman_pairs`: Spearman ×100 between the cosine of the two sentences' vectors and
  the label (Su's unsupervised protocol, kexue.fm/archives/8321), for any ``encode`` function.
* :func:`unsupervised_table`: every task × pooling P1–P4 × {no whitening, whitening,
  whitening-k}, the cells of the tables of 8321/8454. The whitening of a task is fitted on the
  sentences of that task's *train* part (never on the pairs scored).
* :func:`sohu_f1`: ``labelA`` F1 of the Sohu samples, predicting "match" when the cosine
  exceeds a threshold chosen on training pairs (:func:`kexue.similarity.metrics.best_threshold`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from kexue.similarity.data import TASKS, Pair, task_split
from kexue.similarity.metrics import best_threshold, binary_f1, cosine, spearman
from kexue.similarity.pooling import POOLINGS
from kexue.similarity.whitening import Whitening

__all__ = ["pair_cosines", "sohu_f1", "spearman_pairs", "unique_sentences",
           "unsupervised_table"]

Encode = Callable[[Sequence[str]], np.ndarray]


def unique_sentences(pairs: Sequence[Pair], limit: int | None = None) -> list[str]:
    """The distinct sentences of ``pairs`` in first-seen order (the first ``limit``)."""
    seen: dict[str, None] = {}
    for p in pairs:
        seen.setdefault(p.a)
        seen.setdefault(p.b)
        if limit is not None and len(seen) >= limit:
            break
    out = list(seen)
    return out[:limit] if limit is not None else out


def _cos_from(vec: dict[str, np.ndarray], pairs: Sequence[Pair]) -> np.ndarray:
    return cosine(np.stack([vec[p.a] for p in pairs]), np.stack([vec[p.b] for p in pairs]))


def pair_cosines(encode: Encode, pairs: Sequence[Pair]) -> np.ndarray:
    """Cosine of each pair, each distinct sentence encoded once."""
    sents = unique_sentences(pairs)
    vecs = encode(sents)
    return _cos_from(dict(zip(sents, vecs, strict=True)), pairs)


def spearman_pairs(encode: Encode, pairs: Sequence[Pair]) -> float:
    """Spearman ×100 of the pairs' cosines against their labels."""
    return 100 * spearman(pair_cosines(encode, pairs), [p.label for p in pairs])


def unsupervised_table(encoder, tasks: Sequence[str] = TASKS, *,
                       poolings: Sequence[str] = POOLINGS, whiten_dim: int = 64,
                       fit_limit: int = 5000, batch_size: int = 64,
                       root: str | os.PathLike | None = None,
                       log: Callable[[str], None] | None = None) -> dict[str, dict[str, tuple]]:
    """``{pooling: {task: (raw, whitening, whitening-k)}}`` Spearman ×100 on the dev parts.

    ``encoder`` is a :class:`~kexue.similarity.encoder.SentenceEncoder` (its pooling is
    ignored: all ``poolings`` come from one pass). The whitening is fitted on the first
    ``fit_limit`` distinct sentences of the task's train part; "whitening" keeps every
    non-degenerate direction (``d - 1`` after a LayerNorm, see
    :mod:`kexue.similarity.whitening`)."""
    table: dict[str, dict[str, tuple]] = {p: {} for p in poolings}
    for task in tasks:
        dev = task_split(task, "dev", root)
        sents = unique_sentences(dev)
        vecs = encoder.encode_many(sents, poolings, batch_size)
        fit_sents = unique_sentences(task_split(task, "train", root), fit_limit)
        fit_vecs = encoder.encode_many(fit_sents, poolings, batch_size)
        labels = [p.label for p in dev]
        for p in poolings:
            cells = []
            for tf in (None, "full", "k"):
                v = vecs[p]
                if tf is not None:
                    k = None if tf == "full" else min(whiten_dim, v.shape[1])
                    v = Whitening.fit(fit_vecs[p], k, drop_degenerate=True).transform(v)
                lookup = dict(zip(sents, v, strict=True))
                cells.append(100 * spearman(_cos_from(lookup, dev), labels))
            table[p][task] = tuple(cells)
            if log is not None:
                log(f"{task} {p}: " + "/".join(f"{c:.2f}" for c in cells))
    return table


def sohu_f1(encode: Encode, sohu: Sequence[Pair], train: Sequence[Pair]) -> dict[str, float]:
    """``labelA`` F1 on ``sohu`` with the cosine threshold that maximises F1 on ``train``
    (binary pairs, e.g. the LCQMC train part)."""
    t = best_threshold(pair_cosines(encode, train), [p.label for p in train])
    cos = pair_cosines(encode, sohu)
    return {"f1": binary_f1(cos > t, [p.label for p in sohu]), "threshold": t}
