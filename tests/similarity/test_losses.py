"""The similarity losses on hand examples (kexue.fm/archives/7427, 8454, 8541, 8847)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from kexue.similarity.heads import PairClassifierHead
from kexue.similarity.losses import (
    cosent_loss,
    cosine_regression_loss,
    distillation_loss,
    masked_nway_cross_entropy,
    simbert_contrastive_loss,
    simbert_labels,
)


def test_simbert_labels_and_loss_by_hand():
    assert simbert_labels(6).tolist() == [1, 0, 3, 2, 5, 4]
    v = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 2.0], [0.0, 1.0]], dtype=torch.float64)
    # cosines: rows 0,1 equal (1), rows 2,3 equal (1), across 0; the diagonal is masked
    # row 0: logits [-, 30, 0, 0] target 1 -> -log(e^30 / (e^30 + 2))
    want = -math.log(math.exp(30) / (math.exp(30) + 2))
    assert simbert_contrastive_loss(v).item() == pytest.approx(want, rel=1e-12)
    want20 = -math.log(math.exp(20) / (math.exp(20) + 2))
    assert simbert_contrastive_loss(v, scale=20).item() == pytest.approx(want20, rel=1e-12)
    with pytest.raises(ValueError, match="even"):
        simbert_contrastive_loss(v[:3])


def test_simbert_diagonal_is_masked():
    # two unrelated rows: without the mask, each row's own cosine (1) would dominate
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    assert simbert_contrastive_loss(v).item() == pytest.approx(0.0, abs=1e-12)


def test_distillation_is_lambda_times_mean_over_n_squared():
    g = torch.Generator().manual_seed(0)
    u = torch.randn(4, 3, generator=g, dtype=torch.float64)
    v = torch.randn(4, 3, generator=g, dtype=torch.float64)
    total = 0.0
    for i in range(4):
        for j in range(4):
            cu = F.cosine_similarity(u[i], u[j], dim=0)
            cv = F.cosine_similarity(v[i], v[j], dim=0)
            total += float((cu - cv) ** 2)
    assert distillation_loss(v, u).item() == pytest.approx(100 / 16 * total, rel=1e-10)
    assert distillation_loss(u, u).item() == pytest.approx(0.0, abs=1e-12)


def test_cosent_by_hand():
    u = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([2.0, 0.0, 1.0])
    c = [1.0, 0.0, 1 / math.sqrt(2)]
    # ordered pairs with y_i > y_j: (0,1), (0,2), (2,1)
    terms = [20 * (c[1] - c[0]), 20 * (c[2] - c[0]), 20 * (c[1] - c[2])]
    want = math.log(1 + sum(math.exp(t) for t in terms))
    assert cosent_loss(u, v, y).item() == pytest.approx(want, rel=1e-12)


def test_cosine_regression_by_hand():
    u = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    v = torch.tensor([[1.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    c = 1 / math.sqrt(2)
    want = (0.4 * (c - 1) ** 2 + 0.6 * c ** 2 + 1.0 * (0 - 1) ** 2) / 2
    got = cosine_regression_loss(u, v, torch.tensor([0.4, 1.0]))
    assert got.item() == pytest.approx(want, rel=1e-8)
    with pytest.raises(ValueError, match="1/5"):
        cosine_regression_loss(u, v, torch.tensor([3.0, 1.0]))


def test_masked_five_way_equals_two_and_three_way():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 5, generator=g, dtype=torch.float64)
    y = torch.tensor([1, 0, 3, 4])
    want = torch.stack([F.cross_entropy(logits[0:1, :2], y[0:1]),
                        F.cross_entropy(logits[1:2, :2], y[1:2]),
                        F.cross_entropy(logits[2:3, 2:], y[2:3] - 2),
                        F.cross_entropy(logits[3:4, 2:], y[3:4] - 2)]).mean()
    torch.testing.assert_close(masked_nway_cross_entropy(logits, y), want)


def test_pair_head_features():
    u = torch.tensor([[1.0, 2.0]])
    v = torch.tensor([[3.0, -1.0]])
    assert PairClassifierHead.features(u, v).tolist() == [[1.0, 2.0, 3.0, -1.0, 2.0, 3.0]]
    head = PairClassifierHead(2, 5)
    assert head(u, v).shape == (1, 5) and head.dense.bias is None
