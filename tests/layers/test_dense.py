"""kexue.layers.dense: the blocked few-row product equals F.linear on every path."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kexue.layers import Dense, linear


@pytest.mark.parametrize("vocab", [256, 4096, 5003])  # divisible by the 4 blocks; leftover 3
@pytest.mark.parametrize("shape", [(1, 1), (4,), (2, 2), (1, 3), (5,), (2, 7)])
def test_linear_equals_linear(vocab, shape):
    torch.manual_seed(0)
    weight = torch.randn(vocab, 32, dtype=torch.float64)
    bias = torch.randn(vocab, dtype=torch.float64)
    x = torch.randn(*shape, 32, dtype=torch.float64)
    for b in (None, bias):
        got = linear(x, weight, b)
        assert got.shape == (*shape, vocab)
        torch.testing.assert_close(got, F.linear(x, weight, b), rtol=1e-12, atol=1e-12)


def test_linear_gradients_match_linear():
    torch.manual_seed(0)
    w1 = torch.randn(4100, 16, dtype=torch.float64, requires_grad=True)
    w2 = w1.detach().clone().requires_grad_()
    x = torch.randn(1, 2, 16, dtype=torch.float64)
    linear(x, w1).square().sum().backward()
    F.linear(x, w2).square().sum().backward()
    torch.testing.assert_close(w1.grad, w2.grad)


def test_linear_keeps_shape_errors_of_linear():
    with pytest.raises(RuntimeError):
        linear(torch.randn(1, 8), torch.randn(5000, 9))


def test_dense_is_a_linear_with_the_same_state_and_output():
    torch.manual_seed(0)
    ref = nn.Linear(48, 300)
    dense = Dense(48, 300)
    dense.load_state_dict(ref.state_dict())
    assert isinstance(dense, nn.Linear) and list(dense.state_dict()) == ["weight", "bias"]
    for rows in (1, 3, 9):  # blocked, blocked, plain
        x = torch.randn(rows, 48)
        torch.testing.assert_close(dense(x), ref(x), rtol=1e-5, atol=1e-5)
