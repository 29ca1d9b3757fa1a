import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from kexue.objectives import (
    SparseCrossEntropy,
    sparse_cross_entropy,
    sparse_softmax,
    topk_logit_mask,
)


def _data(seed=0, n=6, c=20):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g, dtype=torch.float64), torch.randint(
        0, c, (n,), generator=g
    )


def test_k_equals_n_is_cross_entropy():
    x, y = _data()
    y[0] = -100
    for red in ("mean", "sum", "none"):
        assert_close(
            sparse_cross_entropy(x, y, 20, reduction=red), F.cross_entropy(x, y, reduction=red)
        )


def test_closed_form_and_zero_gradient_outside_topk():
    x, y = _data(1)
    k = 5
    x.requires_grad_()
    loss = sparse_cross_entropy(x, y, k, reduction="none")
    top = x.detach().topk(k, 1).indices
    ref = torch.logsumexp(x.detach().gather(1, top), 1) - x.detach().gather(1, y[:, None])[:, 0]
    assert_close(loss.detach(), ref)
    loss.sum().backward()
    outside = torch.ones_like(x, dtype=torch.bool).scatter(1, top, False)
    outside[torch.arange(len(y)), y] = False  # the target always gets a gradient
    assert bool((x.grad[outside] == 0).all())
    # inside the top-k the gradient is the sparse softmax minus the one-hot
    expected = sparse_softmax(x.detach(), k) - F.one_hot(y, 20)
    assert_close(x.grad, expected)


def test_sparse_softmax_support_and_sum():
    x, _ = _data(2)
    p = sparse_softmax(x, 3)
    assert bool(((p > 0).sum(1) == 3).all())
    assert_close(p.sum(1), torch.ones(6, dtype=torch.float64))


def test_margin_inequality_of_full_ce():
    # Full CE reaching loss eps needs s_max - s_min >= log(n-1) - log(e^eps - 1) (8046).
    n, eps = 100, math.log(2)
    bound = math.log(n - 1) - math.log(math.exp(eps) - 1)
    target_logit = torch.tensor(bound, dtype=torch.float64)
    x = torch.zeros(1, n, dtype=torch.float64)
    x[0, 0] = target_logit
    assert abs(float(F.cross_entropy(x, torch.tensor([0]))) - eps) < 1e-9
    # with k = 10 the same margin gives a far smaller loss: the pressure is gone
    assert float(sparse_cross_entropy(x, torch.tensor([0]), 10)) < eps / 5


def test_topk_mask_does_not_modify_input_and_module():
    x, y = _data(3)
    x0 = x.clone()
    m = topk_logit_mask(x, 4, fill_value=-1000.0)
    assert_close(x, x0)
    assert int((m > -1000).sum()) == 6 * 4
    assert_close(SparseCrossEntropy(4)(x, y), sparse_cross_entropy(x, y, 4))


def test_bad_inputs():
    x, y = _data()
    with pytest.raises(ValueError, match=r"k must be in \[1, 20\]"):
        sparse_cross_entropy(x, y, 21)
    with pytest.raises(TypeError, match="int"):
        sparse_cross_entropy(x, y, 2.0)
    with pytest.raises(ValueError, match=r"\[0, 19\]"):
        sparse_cross_entropy(x, y + 20, 5)


def _ref_sparse_softmax(x: np.ndarray, k: int, axis: int) -> np.ndarray:
    """float64 NumPy reference: along ``axis``, exp over the k largest entries, 0 elsewhere."""
    moved = np.moveaxis(x, axis, -1)
    out = np.zeros_like(moved)
    for idx in np.ndindex(moved.shape[:-1]):
        row = moved[idx]
        top = np.argsort(-row, kind="stable")[:k]
        e = np.exp(row[top] - row[top].max())
        out[idx + (top,)] = e / e.sum()
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("shape", [(4, 7, 9), (3, 5, 2, 6)])
def test_sparse_softmax_along_any_dim_of_nd_input_matches_numpy(shape):
    g = torch.Generator().manual_seed(4)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    for dim in range(-len(shape), len(shape)):
        k = min(3, shape[dim] - 1) or 1
        p = sparse_softmax(x, k, dim=dim)
        ref = _ref_sparse_softmax(x.numpy(), k, dim)
        assert p.shape == x.shape
        assert_close(p, torch.from_numpy(ref), rtol=1e-12, atol=1e-14)
        assert bool(((p > 0).sum(dim) == k).all())
        # the mask along the same dim keeps exactly the entries the softmax keeps
        m = topk_logit_mask(x, k, dim=dim)
        assert torch.equal(torch.isfinite(m), p > 0)
        assert torch.equal(m[p > 0], x[p > 0])


def test_sparse_softmax_k_is_checked_against_the_chosen_dim():
    x = torch.randn(2, 8, 3, dtype=torch.float64)
    assert sparse_softmax(x, 8, dim=1).shape == x.shape  # k = size of dim 1 is allowed
    with pytest.raises(ValueError, match=r"k must be in \[1, 3\]"):
        sparse_softmax(x, 4, dim=2)


def test_sparse_cross_entropy_on_nd_logits_matches_per_position_reference():
    """Logits (N, C, L) with the class dim 1 like F.cross_entropy, ignored positions, every
    reduction: each position's loss is logsumexp of its own top-k minus its target logit."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, 11, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 11, (3, 4), generator=g)
    y[1, 2] = -100
    k = 4
    ref = np.zeros((3, 4))
    xn = x.numpy()
    for n in range(3):
        for pos in range(4):
            if y[n, pos] < 0:
                continue
            row = xn[n, :, pos]
            top = np.sort(row)[::-1][:k]
            ref[n, pos] = np.log(np.exp(top).sum()) - row[y[n, pos]]
    got = sparse_cross_entropy(x, y, k, reduction="none")
    assert_close(got, torch.from_numpy(ref), rtol=1e-12, atol=1e-14)
    assert_close(sparse_cross_entropy(x, y, k, reduction="sum"), torch.tensor(ref.sum(),
                 dtype=torch.float64))
    assert_close(sparse_cross_entropy(x, y, k), torch.tensor(ref.sum() / 11, dtype=torch.float64))


def test_defaults_and_argument_checks():
    """Survivors of `make mutate` on sparse_softmax.py: the documented defaults (k = 10 as in
    SPACES, ignore_index = -100, the mask along the last dim) and the k checks."""
    x, y = _data(6)  # 20 classes: k = 9, 10 and 11 give different losses
    y[2] = -100
    explicit = sparse_cross_entropy(x, y, 10, ignore_index=-100)
    assert_close(sparse_cross_entropy(x, y), explicit)
    assert_close(SparseCrossEntropy()(x, y), explicit)
    for k in (9, 11):
        assert not torch.allclose(sparse_cross_entropy(x, y, k), explicit)
    x3 = torch.randn(2, 3, 7, dtype=torch.float64)
    assert torch.equal(topk_logit_mask(x3, 2), topk_logit_mask(x3, 2, dim=2))
    assert torch.equal(sparse_softmax(x3, 2), sparse_softmax(x3, 2, dim=2))
    assert_close(SparseCrossEntropy(1)(x, y), sparse_cross_entropy(x, y, 1))
    for bad in (0, -1):
        with pytest.raises(ValueError, match="k must be"):
            SparseCrossEntropy(bad)
        with pytest.raises(ValueError, match=r"k must be in \[1, 20\]"):
            sparse_cross_entropy(x, y, bad)
    with pytest.raises(TypeError, match="k must be an int"):
        sparse_cross_entropy(x, y, True)
    with pytest.raises(TypeError, match="k must be an int"):
        topk_logit_mask(x, 2.0)
    # ignore_index and reduction are keyword-only; the rest may be named
    assert_close(sparse_cross_entropy(logits=x, target=y, k=4), sparse_cross_entropy(x, y, 4))
    with pytest.raises(TypeError):
        sparse_cross_entropy(x, y, 4, -100)
    with pytest.raises(TypeError):
        SparseCrossEntropy(4, -100)
