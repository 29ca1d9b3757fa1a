"""Layer adaptation (LAMB trust ratio): closed form on the two-parameter problem."""

from __future__ import annotations

import torch
from torch.testing import assert_close

from kexue.optim import extend_with_layer_adaptation, extend_with_weight_decay

SGDLA = extend_with_layer_adaptation(torch.optim.SGD)


def test_update_norm_becomes_lr_times_parameter_norm():
    w = torch.nn.Parameter(torch.tensor([3.0, 4.0], dtype=torch.float64))  # norm 5
    opt = SGDLA([w], lr=0.1)
    w.grad = torch.tensor([2.0, 0.0], dtype=torch.float64)
    opt.step()
    # SGD step (-0.2, 0) rescaled to norm lr * ||w|| = 0.5 along the same direction
    assert_close(w.detach(), torch.tensor([2.5, 4.0], dtype=torch.float64))


def test_zero_parameter_and_excluded_names_are_untouched(two_params):
    m = two_params(0.0, 4.0)
    opt = SGDLA(m.named_parameters(), lr=0.1, exclude_from_layer_adaptation=["bias"])
    m.set_grads(2.0, 2.0)
    opt.step()
    # weight = 0 keeps the plain SGD step; bias is excluded
    assert_close(m.values(), torch.tensor([-0.2, 3.8], dtype=torch.float64))


def test_lamb_form_rescales_update_including_decay():
    Lamb = extend_with_layer_adaptation(extend_with_weight_decay(torch.optim.SGD), "Lamb")
    w = torch.nn.Parameter(torch.tensor([3.0, 4.0], dtype=torch.float64))
    opt = Lamb([w], lr=0.1, weight_decay_rate=0.5)
    w.grad = torch.tensor([1.0, 0.0], dtype=torch.float64)
    opt.step()
    inner = torch.tensor([-0.1 - 0.15, -0.2], dtype=torch.float64)  # SGD + decay
    expected = torch.tensor([3.0, 4.0], dtype=torch.float64) + inner * 0.5 / inner.norm()
    assert_close(w.detach(), expected)
