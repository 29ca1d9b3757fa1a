import numpy as np
import pytest
import torch
from torch.testing import assert_close

from kexue.objectives import (
    MultilabelCategoricalCrossentropy,
    multilabel_categorical_crossentropy,
    sparse_multilabel_categorical_crossentropy,
)


def _np_mcce(s, y):
    out = []
    for si, yi in zip(s, y):
        neg = np.log1p(np.exp(si[yi == 0]).sum())
        pos = np.log1p(np.exp(-si[yi == 1]).sum())
        out.append(neg + pos)
    return np.array(out)


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(16, 10, generator=g, dtype=torch.float64) * 3
    y = (torch.rand(16, 10, generator=g) < 0.3).double()
    y[0] = 0  # no positive
    y[1] = 1  # all positive
    return s, y


def test_dense_matches_float64_reference():
    s, y = _data()
    got = multilabel_categorical_crossentropy(s, y, reduction="none")
    assert_close(got, torch.from_numpy(_np_mcce(s.numpy(), y.numpy())), rtol=1e-12, atol=1e-12)
    assert_close(multilabel_categorical_crossentropy(s, y), got.mean())


def test_sparse_equals_dense_with_padding_and_duplicates():
    s, y = _data()
    k = int(y.sum(1).max()) + 2
    idx = torch.full((16, k), -1, dtype=torch.long)
    for i in range(16):
        pos = torch.nonzero(y[i]).flatten()
        idx[i, : len(pos)] = pos
        if len(pos):
            idx[i, -1] = pos[0]  # a duplicate must count once
    dense = multilabel_categorical_crossentropy(s, y, reduction="none")
    sparse = sparse_multilabel_categorical_crossentropy(s, idx, reduction="none")
    assert_close(sparse, dense, rtol=1e-9, atol=1e-9)
    mod = MultilabelCategoricalCrossentropy(sparse=True)
    assert_close(mod(s, idx), dense.mean(), rtol=1e-9, atol=1e-9)


def test_threshold_zero_property_and_gradient_signs():
    # Loss is small iff every positive score > 0 > every negative score.
    y = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    good = torch.tensor([[9.0, -9.0, 9.0, -9.0]])
    bad = -good
    assert float(multilabel_categorical_crossentropy(good, y)) < 1e-3
    assert float(multilabel_categorical_crossentropy(bad, y)) > 9
    s = torch.zeros(1, 4, requires_grad=True)
    multilabel_categorical_crossentropy(s, y).backward()
    assert bool((s.grad[0, [0, 2]] < 0).all()) and bool((s.grad[0, [1, 3]] > 0).all())


def test_single_positive_is_softmax_ce_with_zero_class():
    # With one positive t and a fixed extra logit 0, loss = CE over [0, s_neg...] for "0"
    # plus CE of t against 0: log(1 + sum_neg e^s) + log(1 + e^{-s_t}).
    s = torch.tensor([[0.3, -1.2, 2.0]], dtype=torch.float64)
    y = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)
    expected = torch.log1p(torch.exp(s[0, :2]).sum()) + torch.log1p(torch.exp(-s[0, 2]))
    assert_close(multilabel_categorical_crossentropy(s, y), expected)


def test_large_logits_are_stable():
    s = torch.tensor([[1e4, -1e4, 50.0]])
    y = torch.tensor([[1.0, 0.0, 0.0]])
    out = multilabel_categorical_crossentropy(s, y)
    assert torch.isfinite(out) and abs(float(out) - 50.0) < 1e-3
    idx = torch.tensor([[0, -1]])
    assert abs(float(sparse_multilabel_categorical_crossentropy(s, idx)) - 50.0) < 1e-3


def test_bad_inputs():
    s, y = _data()
    with pytest.raises(ValueError, match="same shape"):
        multilabel_categorical_crossentropy(s, y[:, :5])
    with pytest.raises(ValueError, match="multi-hot"):
        multilabel_categorical_crossentropy(s, y * 2)
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        sparse_multilabel_categorical_crossentropy(s, torch.full((16, 2), 10))
    with pytest.raises(TypeError):
        sparse_multilabel_categorical_crossentropy(s, y)
    bad = s.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        multilabel_categorical_crossentropy(bad, y)
