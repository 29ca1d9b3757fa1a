"""Exact top-k cosine search and the vector files."""

from __future__ import annotations

import numpy as np
import pytest

from kexue.similarity.search import VectorsError, load_vectors, save_vectors, topk_cosine


def test_topk_equals_brute_force_across_blocks():
    g = np.random.default_rng(0)
    c = g.normal(size=(1000, 8)).astype(np.float32)
    q = g.normal(size=(7, 8)).astype(np.float32)
    s, i = topk_cosine(q, c, 5, block=97)
    cn = c / np.linalg.norm(c, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    full = qn @ cn.T
    want = np.argsort(-full, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(i, want)
    np.testing.assert_allclose(s, np.take_along_axis(full, want, 1), rtol=1e-5, atol=1e-6)
    s2, i2 = topk_cosine(q, c[:3], 10)
    assert i2.shape == (7, 3)


def test_vectors_round_trip_and_bad_files(tmp_path):
    v = np.arange(12, dtype=np.float32).reshape(4, 3) + 1
    save_vectors(tmp_path / "v.npy", v, {"model_fingerprint": "abc", "pooling": "P3"})
    back, meta = load_vectors(tmp_path / "v.npy", dim=3, expect={"pooling": "P3"})
    np.testing.assert_array_equal(back, v)
    assert meta["n"] == 4 and meta["dim"] == 3
    with pytest.raises(VectorsError, match="3-dimensional vectors but the model gives 5"):
        load_vectors(tmp_path / "v.npy", dim=5)
    with pytest.raises(VectorsError, match="model_fingerprint = 'abc'"):
        load_vectors(tmp_path / "v.npy", expect={"model_fingerprint": "xyz"})
    raw = (tmp_path / "v.npy").read_bytes()
    (tmp_path / "v.npy").write_bytes(raw[:-8])  # truncated
    with pytest.raises(VectorsError, match="not a readable .npy"):
        load_vectors(tmp_path / "v.npy")
    (tmp_path / "w.npy").write_bytes(b"garbage")
    with pytest.raises(VectorsError, match="not a readable .npy"):
        load_vectors(tmp_path / "w.npy")
    np.save(tmp_path / "d.npy", v.astype(np.float64))
    with pytest.raises(VectorsError, match="float32"):
        load_vectors(tmp_path / "d.npy")


def test_hnsw_index_finds_the_exact_neighbours_and_their_cosines():
    from kexue.similarity.search import HNSWIndex

    g = np.random.default_rng(1)
    centres = g.normal(size=(50, 32))
    c = (centres[g.integers(0, 50, 5000)] + 0.5 * g.normal(size=(5000, 32))).astype(np.float32)
    q = (c[:200] + 0.1 * g.normal(size=(200, 32))).astype(np.float32)
    s, i = HNSWIndex(c).search(q, 10)
    es, ei = topk_cosine(q, c, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(i, ei, strict=True)])
    assert recall > 0.95, recall
    assert (i[:, 0] == ei[:, 0]).mean() > 0.98
    cn = c / np.linalg.norm(c, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    np.testing.assert_allclose(s, np.einsum("qd,qkd->qk", qn, cn[i]), rtol=1e-4, atol=1e-5)
    s3, i3 = HNSWIndex(c[:3]).search(q[:2], 10)  # k larger than the corpus
    assert i3.shape == (2, 3) and sorted(i3[0]) == [0, 1, 2]
    with pytest.raises(ValueError, match=r"queries \(2, 8\)"):
        HNSWIndex(c).search(q[:2, :8], 3)
    with pytest.raises(ValueError, match="zero"):
        HNSWIndex(np.zeros((4, 32), dtype=np.float32))
