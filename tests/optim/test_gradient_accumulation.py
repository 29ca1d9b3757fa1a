"""Gradient accumulation: closed form and equivalence with a large batch."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from kexue.optim import AdaX, extend_with_gradient_accumulation


def test_parameters_move_every_k_steps_with_the_mean_gradient(two_params):
    SGDAcc = extend_with_gradient_accumulation(torch.optim.SGD)
    m = two_params(1.0, -2.0)
    opt = SGDAcc(m.parameters(), lr=0.1, grad_accum_steps=3)
    theta0 = m.values()
    grads = [(1.0, 2.0), (3.0, -2.0), (-1.0, 6.0)]
    for i, g in enumerate(grads):
        m.set_grads(*g)
        opt.step()
        assert m.weight.grad.item() == g[0]  # the caller's gradient is left alone
        if i < 2:
            assert_close(m.values(), theta0)
    assert_close(m.values(), theta0 - 0.1 * torch.tensor([1.0, 2.0], dtype=torch.float64))


def test_k_micro_batches_equal_one_big_batch_for_adax():
    torch.manual_seed(0)
    x, y = torch.randn(24, 5, dtype=torch.float64), torch.randn(24, dtype=torch.float64)
    w_big = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    w_acc = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    big = AdaX([w_big], lr=0.1)
    acc = extend_with_gradient_accumulation(AdaX)([w_acc], lr=0.1, grad_accum_steps=4)
    for _ in range(5):
        big.zero_grad()
        ((x @ w_big - y) ** 2).mean().backward()
        big.step()
        for chunk in range(4):
            sl = slice(6 * chunk, 6 * chunk + 6)
            acc.zero_grad()
            ((x[sl] @ w_acc - y[sl]) ** 2).mean().backward()
            acc.step()
    assert_close(w_acc, w_big, rtol=1e-12, atol=1e-14)
    assert acc.state[w_acc]["step"] == 5


def test_bad_accumulation_steps_raise():
    Acc = extend_with_gradient_accumulation(torch.optim.SGD)
    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError, match="grad_accum_steps"):
            Acc([torch.zeros(1, requires_grad=True)], lr=0.1, grad_accum_steps=bad)


def test_groups_must_share_the_accumulation_steps():
    Acc = extend_with_gradient_accumulation(torch.optim.SGD)
    a, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="every param group"):
        Acc([{"params": [a]}, {"params": [b], "grad_accum_steps": 3}], lr=0.1)
