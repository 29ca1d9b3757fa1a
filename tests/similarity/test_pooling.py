"""P1–P4 (kexue.fm/archives/8321) against float64 NumPy definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kexue.similarity.pooling import canonical, masked_mean, pool


def _numpy_mean(h: np.ndarray, m: np.ndarray) -> np.ndarray:
    out = np.zeros((h.shape[0], h.shape[2]))
    for b in range(h.shape[0]):
        rows = [h[b, i] for i in range(h.shape[1]) if m[b, i]]
        out[b] = np.sum(rows, axis=0) / len(rows)
    return out


def test_pool_equals_numpy_definitions():
    g = np.random.default_rng(0)
    h = g.normal(size=(3, 5, 4))
    first = g.normal(size=(3, 5, 4))
    pooled = g.normal(size=(3, 4))
    m = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0]])
    t = {k: torch.from_numpy(v) for k, v in dict(h=h, first=first, pooled=pooled, m=m).items()}
    got = {p: pool(p, t["h"], t["m"], first=t["first"], pooled=t["pooled"]).numpy()
           for p in ("P1", "P2", "P3", "P4")}
    np.testing.assert_allclose(got["P1"], h[:, 0], rtol=0, atol=0)
    np.testing.assert_allclose(got["P2"], pooled, rtol=0, atol=0)
    np.testing.assert_allclose(got["P3"], _numpy_mean(h, m), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["P4"], (_numpy_mean(first, m) + _numpy_mean(h, m)) / 2,
                               rtol=1e-12, atol=1e-12)


def test_aliases_and_errors():
    assert [canonical(a) for a in ("cls", "pooler", "last-avg", "first-last-avg")] == [
        "P1", "P2", "P3", "P4"]
    with pytest.raises(ValueError, match="unknown pooling"):
        canonical("max")
    h = torch.zeros(1, 2, 3)
    with pytest.raises(ValueError, match="no real token"):
        masked_mean(h, torch.zeros(1, 2))
    with pytest.raises(ValueError, match="pooler"):
        pool("P2", h, torch.ones(1, 2))
    with pytest.raises(ValueError, match="first layer"):
        pool("P4", h, torch.ones(1, 2))
