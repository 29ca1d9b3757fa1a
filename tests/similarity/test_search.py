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
