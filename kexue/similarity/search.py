"""Exact nearest-neighbour search by cosine, and the vector files of ``kexue sim``.

:func:`topk_cosine` normalises the queries and the corpus and takes, for each block of
``block`` corpus rows, ``Q @ C_blockᵀ`` (one matrix product) and its top-k, merging the
blocks' candidates: exact (no approximation) and memory-bounded, so ~1M vectors of 256
dimensions (1 GB in float32) search on a CPU.

A vectors file is a float32 ``(n, d)`` ``.npy`` array plus a sidecar ``<file>.json``
recording what made it (model fingerprint, pooling, whitening, dimension, count), so that
searching it with another model or another pooling fails with a clear message instead of
returning meaningless neighbours.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kexue.io.atomic import atomic_write, write_text

__all__ = ["VectorsError", "HNSWIndex", "load_vectors", "meta_path", "model_fingerprint",
           "save_vectors", "topk_cosine"]


class VectorsError(ValueError):
    """A vectors file that cannot be used (corrupt, wrong shape, another model)."""


def _normalise(x: torch.Tensor) -> torch.Tensor:
    n = x.norm(dim=1, keepdim=True)
    if bool((n == 0).any()):
        raise ValueError("a vector is zero: its cosine is undefined")
    return x / n


def topk_cosine(queries: np.ndarray, corpus: np.ndarray, k: int, *,
                block: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` corpus rows most cosine-similar to each query: ``(scores, indices)``, both
    ``(n_queries, min(k, n_corpus))``, best first (ties: the lower index first)."""
    q = torch.from_numpy(np.array(queries, dtype=np.float32))
    c = corpus if isinstance(corpus, np.ndarray) else np.asarray(corpus, dtype=np.float32)
    if q.dim() != 2 or c.ndim != 2 or q.shape[1] != c.shape[1]:
        raise ValueError(f"queries {tuple(q.shape)} and corpus {tuple(c.shape)} must be 2-D "
                         f"with one dimension")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    if c.shape[0] == 0:
        raise ValueError("the corpus is empty")
    q = _normalise(q)
    k = min(k, c.shape[0])
    best_s = torch.full((q.shape[0], 0), float("-inf"))
    best_i = torch.zeros((q.shape[0], 0), dtype=torch.long)
    for start in range(0, c.shape[0], block):
        # a copy of one block only: a memory-mapped corpus is never read whole
        cb = _normalise(torch.from_numpy(np.array(c[start:start + block], dtype=np.float32)))
        s = q @ cb.T
        kk = min(k, s.shape[1])
        ts, ti = torch.topk(s, kk, dim=1, sorted=False)
        best_s = torch.cat([best_s, ts], dim=1)
        best_i = torch.cat([best_i, ti + start], dim=1)
        # keep the k best; ties broken towards the lower index (sort by index, stable by score)
        order = torch.argsort(best_i, dim=1)
        best_s, best_i = best_s.gather(1, order), best_i.gather(1, order)
        order = torch.argsort(-best_s, dim=1, stable=True)[:, :k]
        best_s, best_i = best_s.gather(1, order), best_i.gather(1, order)
    return best_s.numpy(), best_i.numpy()


class HNSWIndex:
    """Approximate cosine top-k through faiss's HNSW graph (Malkov & Yashunin 2018), for
    corpora where even blocked exact products are too slow per query: built once
    (``O(n log n)``), then each query visits a few hundred vectors instead of all ``n``.
    Inner product on normalised vectors = cosine, so the scores compare with
    :func:`topk_cosine`'s; recall against it is measured in the tests and in
    ``benchmarks/similarity.py``. Needs ``faiss-cpu`` (the ``ann`` extra); without it the
    constructor says so.

    Args:
        corpus: ``(n, d)`` vectors (normalised here; a zero row is an error).
        m: graph degree (faiss ``M``, 32); ``ef_construction``: build beam (80);
        ef_search: query beam (default 128; at least ``k`` is used), more = better recall.
    """

    def __init__(self, corpus: np.ndarray, *, m: int = 32, ef_construction: int = 80,
                 ef_search: int = 128) -> None:
        try:
            import faiss
        except ImportError:
            raise ImportError("the HNSW index needs faiss: pip install 'kexue[ann]' "
                              "(faiss-cpu); exact search needs nothing") from None
        c = np.asarray(corpus, dtype=np.float32)
        if c.ndim != 2 or c.shape[0] == 0:
            raise ValueError(f"the corpus must be a non-empty (n, d) array, got {c.shape}")
        c = _normalise(torch.from_numpy(np.array(c))).numpy()
        self._faiss = faiss
        self.index = faiss.IndexHNSWFlat(c.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = ef_construction
        self.index.add(c)
        self.ef_search = ef_search
        self.n, self.dim = c.shape

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, indices)`` as :func:`topk_cosine` returns them (approximate)."""
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries {q.shape} must be (n, {self.dim})")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be an int >= 1, got {k!r}")
        k = min(k, self.n)
        q = _normalise(torch.from_numpy(np.array(q))).numpy()
        params = self._faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
        scores, index = self.index.search(q, k, params=params)
        return scores, index.astype(np.int64)


def model_fingerprint(model_dir: str | os.PathLike) -> str:
    """SHA-256 of a model directory's ``config.json`` and weights (first 16 hex digits)."""
    d = Path(model_dir)
    h = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        p = d / name
        if p.is_file():
            h.update(name.encode())
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()[:16]


def meta_path(path: str | os.PathLike) -> Path:
    """The sidecar of a vectors file: ``VECTORS.npy`` → ``VECTORS.npy.json``."""
    return Path(str(path) + ".json")


def save_vectors(path: str | os.PathLike, vectors: np.ndarray,
                 meta: Mapping[str, Any]) -> None:
    """Write float32 ``(n, d)`` ``vectors`` to ``path`` (``.npy``) and ``meta`` (plus ``n``,
    ``dim``) to its sidecar, each atomically (the sidecar last)."""
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"vectors must be (n, d), got shape {v.shape}")
    with atomic_write(path, "wb") as f:
        np.save(f, v, allow_pickle=False)
    info = {**meta, "n": int(v.shape[0]), "dim": int(v.shape[1])}
    write_text(meta_path(path), json.dumps(info, ensure_ascii=False, indent=1) + "\n")


def load_vectors(path: str | os.PathLike, *, expect: Mapping[str, Any] | None = None,
                 dim: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a vectors file (memory-mapped) and its sidecar; :class:`VectorsError` when it is
    not a float32 2-D ``.npy``, its sidecar disagrees with it, its dimension is not ``dim``,
    or a key of ``expect`` (e.g. the model fingerprint, the pooling) differs."""
    p = Path(path)
    try:
        v = np.load(p, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError, OSError) as e:
        if isinstance(e, FileNotFoundError | IsADirectoryError):
            raise
        raise VectorsError(f"{p} is not a readable .npy vectors file ({e})") from None
    if not isinstance(v, np.ndarray) or v.ndim != 2 or v.dtype != np.float32:
        raise VectorsError(f"{p} is not a float32 (n, d) array (got "
                           f"{getattr(v, 'dtype', '?')} {getattr(v, 'shape', '?')})")
    meta: dict[str, Any] = {}
    mp = meta_path(p)
    if mp.is_file():
        try:
            meta = json.loads(mp.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise VectorsError(f"{mp} is not valid JSON ({e})") from None
        if (meta.get("n"), meta.get("dim")) != tuple(v.shape):
            raise VectorsError(f"{p} holds {v.shape} but its {mp.name} says "
                               f"({meta.get('n')}, {meta.get('dim')}): a truncated or "
                               f"replaced file")
    if dim is not None and v.shape[1] != dim:
        raise VectorsError(f"{p} holds {v.shape[1]}-dimensional vectors but the model gives "
                           f"{dim}: it was made by another model, pooling or whitening")
    for key, want in (expect or {}).items():
        if key in meta and meta[key] != want:
            raise VectorsError(f"{p} was made with {key} = {meta[key]!r}, not {want!r}: "
                               f"encode the corpus again with this model")
    return v, meta
