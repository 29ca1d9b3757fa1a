"""Spearman, F1 and the table layout."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from kexue.similarity.metrics import (
    best_threshold,
    binary_f1,
    cosine,
    format_table,
    rank,
    spearman,
)


def test_spearman_with_ties_equals_scipy():
    g = np.random.default_rng(0)
    x = g.normal(size=200)
    y = g.integers(0, 6, size=200).astype(float)  # STS-B-like ties
    np.testing.assert_allclose(rank(y), stats.rankdata(y))
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_cosine_f1_threshold():
    a = np.array([[1.0, 0.0], [1.0, 1.0]])
    b = np.array([[2.0, 0.0], [-1.0, -1.0]])
    np.testing.assert_allclose(cosine(a, b), [1.0, -1.0])
    with pytest.raises(ValueError, match="zero"):
        cosine(np.zeros((1, 2)), a[:1])
    assert binary_f1([1, 1, 0, 0], [1, 0, 1, 0]) == pytest.approx(0.5)
    s = np.array([0.1, 0.2, 0.8, 0.9])
    t = best_threshold(s, [0, 0, 1, 1])
    assert 0.2 < t < 0.8 and binary_f1(s > t, [0, 0, 1, 1]) == 1.0


def test_table_layout():
    out = format_table({"m-P1": {"ATEC": (1.0, 2.0, 3.0), "BQ": 4.5}}, ["ATEC", "BQ", "LCQMC"])
    assert out.splitlines() == ["| | ATEC | BQ | LCQMC |", "|---|---|---|---|",
                                "| m-P1 | 1.00/2.00/3.00 | 4.50 | – |"]
