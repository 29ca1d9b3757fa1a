"""AttentionPooling1d: the additive-attention formula and that padding gets no weight."""

from __future__ import annotations

import pytest
import torch

from kexue.layers.pooling import AttentionPooling1d


def _brute(pool: AttentionPooling1d, x: torch.Tensor) -> torch.Tensor:
    """λ_i = softmax_i(αᵀ tanh(W x_i + b)), o = Σ λ_i x_i, one step at a time in float64."""
    W, b = pool.proj.weight.double(), pool.proj.bias.double()
    a = pool.alpha.weight.double()[0]
    x = x.double()
    scores = torch.stack([a @ torch.tanh(W @ x[i] + b) for i in range(len(x))])
    lam = torch.exp(scores - scores.max())
    lam = lam / lam.sum()
    return sum(lam[i] * x[i] for i in range(len(x)))


def test_formula_without_mask():
    pool = AttentionPooling1d(5, 7)
    x = torch.randn(3, 6, 5)
    out = pool(x).double()
    for r in range(3):
        torch.testing.assert_close(out[r], _brute(pool, x[r]).detach(), atol=1e-6, rtol=1e-5)


def test_padding_gets_zero_weight_and_equals_the_cut_row():
    pool = AttentionPooling1d(4)
    x = torch.randn(3, 7, 4)
    lengths = [7, 3, 1]
    mask = torch.tensor([[1] * n + [0] * (7 - n) for n in lengths])
    x_noisy = x.clone()
    for r, n in enumerate(lengths):
        x_noisy[r, n:] = 1e4  # huge garbage in the padding would dominate any softmax
    out = pool(x_noisy, mask)
    w = pool.weights(x_noisy, mask)
    assert torch.all(w[mask == 0] == 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(3))
    for r, n in enumerate(lengths):
        torch.testing.assert_close(out[r].double(), _brute(pool, x[r, :n]).detach(),
                                   atol=1e-6, rtol=1e-5)


def test_all_padding_row_pools_to_zero_not_nan():
    pool = AttentionPooling1d(3)
    out = pool(torch.randn(2, 4, 3), torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0]]))
    assert torch.isfinite(out).all() and torch.all(out[1] == 0)


def test_swish_activation_and_bad_shapes():
    pool = AttentionPooling1d(3, activation="swish")
    assert pool(torch.randn(2, 4, 3)).shape == (2, 3)
    with pytest.raises(ValueError, match="unknown activation"):
        AttentionPooling1d(3, activation="nope")
    with pytest.raises(ValueError, match="mask shape"):
        pool(torch.randn(2, 4, 3), torch.ones(2, 5))
