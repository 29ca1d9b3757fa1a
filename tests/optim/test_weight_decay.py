"""Decoupled weight decay: closed form on the two-parameter problem."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from kexue.optim import AdaX, extend_with_weight_decay

SGDW = extend_with_weight_decay(torch.optim.SGD, "SGDW")


def test_update_is_sgd_minus_lr_times_rate_times_old_theta(two_params):
    m = two_params(1.0, -2.0)
    opt = SGDW(m.parameters(), lr=0.1, weight_decay_rate=0.3)
    theta = m.values()
    for g in ([0.5, 0.25], [-1.0, 2.0]):
        m.set_grads(*g)
        opt.step()
        theta = theta - 0.1 * torch.tensor(g, dtype=torch.float64) - 0.1 * 0.3 * theta
        assert_close(m.values(), theta, rtol=1e-15, atol=1e-15)


def test_excluded_names_are_not_decayed_and_names_are_required(two_params):
    m = two_params(1.0, -2.0)
    opt = SGDW(m.named_parameters(), lr=0.1, weight_decay_rate=0.3,
               exclude_from_weight_decay=["bias"])
    m.set_grads(0.0, 0.0)
    opt.step()
    assert_close(m.values(), torch.tensor([1.0 - 0.03, -2.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="named_parameters"):
        SGDW(m.parameters(), lr=0.1, exclude_from_weight_decay=["bias"])
    with pytest.raises(ValueError, match="weight_decay_rate"):
        SGDW(m.parameters(), lr=0.1, weight_decay_rate=-1.0)
    with pytest.raises(TypeError, match="list"):
        SGDW(m.named_parameters(), lr=0.1, exclude_from_weight_decay="bias")


def test_decay_follows_the_scheduled_lr_and_matches_adamw_form(two_params):
    m = two_params(1.0, -2.0)
    AdaXW = extend_with_weight_decay(AdaX)
    opt = AdaXW(m.parameters(), lr=0.1, weight_decay_rate=0.5, eps=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 ** t)
    theta = m.values()
    for t in range(3):
        lr = 0.1 * 0.5 ** t
        before = m.values()
        m.set_grads(1.0, -1.0)
        opt.step()
        sched.step()
        # AdaX part of a constant +-1 gradient: -lr (1 - 0.9^(t+1)) sign(g)
        adax = -lr * (1 - 0.9 ** (t + 1)) * torch.tensor([1.0, -1.0], dtype=torch.float64)
        theta = before + adax - lr * 0.5 * before
        assert_close(m.values(), theta, rtol=1e-12, atol=1e-14)


def test_per_group_rates_and_a_missing_numeric_lr(two_params):
    m = two_params(1.0, -2.0)
    opt = SGDW([{"params": [m.weight]}, {"params": [m.bias], "weight_decay_rate": 0.0}],
               lr=0.1, weight_decay_rate=0.5)
    m.set_grads(0.0, 0.0)
    opt.step()
    assert_close(m.values(), torch.tensor([0.95, -2.0], dtype=torch.float64))
    from kexue.optim import AdaFactor

    relative = extend_with_weight_decay(AdaFactor)(m.parameters(), lr=None)
    m.set_grads(1.0, 1.0)
    before = m.values()
    with pytest.raises(ValueError, match="numeric learning rate"):
        relative.step()
    assert_close(m.values(), before)  # refused before anything was updated
