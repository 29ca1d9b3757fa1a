"""BERT-whitening (kexue.fm/archives/8069) against its float64 NumPy definition."""

from __future__ import annotations

import numpy as np
import pytest

from kexue.similarity.whitening import Whitening


def _reference(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    mu = x.mean(0)
    cov = (x - mu).T @ (x - mu) / (len(x) - 1)
    u, s, _ = np.linalg.svd(cov)
    return mu, (u @ np.diag(1 / np.sqrt(s)))[:, :k]


def test_fit_transform_equals_numpy_and_whitens():
    g = np.random.default_rng(1)
    x = g.normal(size=(200, 6)) @ g.normal(size=(6, 6)) + 3.0
    w = Whitening.fit(x)
    mu, kernel = _reference(x, 6)
    np.testing.assert_allclose(w.mean, mu, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w.kernel, kernel, rtol=1e-9, atol=1e-9)
    y = w.transform(x).astype(np.float64)
    assert w.transform(x).dtype == np.float32
    np.testing.assert_allclose(np.cov(y.T), np.eye(6), atol=1e-5)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    w3 = Whitening.fit(x, 3)
    np.testing.assert_allclose(w3.transform(x), ((x - mu) @ kernel[:, :3]), rtol=1e-5,
                               atol=1e-5)
    assert (w3.dim, w3.n_components) == (6, 3)


def test_save_load_round_trip_and_bad_files(tmp_path):
    g = np.random.default_rng(2)
    x = g.normal(size=(50, 4))
    w = Whitening.fit(x, 2)
    w.save(tmp_path / "w.npz")
    back = Whitening.load(tmp_path / "w.npz")
    np.testing.assert_array_equal(back.kernel, w.kernel)
    np.testing.assert_array_equal(back.transform(x), w.transform(x))
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable whitening file|not a kexue"):
        Whitening.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a kexue whitening file"):
        Whitening.load(tmp_path / "other.npz")
    with pytest.raises(ValueError, match=r"expected \(N, 4\)"):
        w.transform(np.zeros((2, 5)))


def test_singular_covariance_is_refused():
    x = np.random.default_rng(3).normal(size=(3, 8))  # 3 vectors in 8 dimensions
    with pytest.raises(ValueError, match="singular"):
        Whitening.fit(x)
    assert Whitening.fit(x, 2).n_components == 2


def test_layernorm_outputs_have_one_degenerate_direction():
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 8, generator=g, dtype=torch.float64)
    y = torch.nn.functional.layer_norm(x, (8,), torch.rand(8, generator=g,
                                       dtype=torch.float64) + 0.5, torch.randn(
                                       8, generator=g, dtype=torch.float64)).numpy()
    with pytest.raises(ValueError, match="singular"):
        Whitening.fit(y)
    assert Whitening.fit(y, drop_degenerate=True).n_components == 7
