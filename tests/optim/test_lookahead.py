"""Lookahead: closed form on the two-parameter problem."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from kexue.optim import extend_with_lookahead

SGDLA = extend_with_lookahead(torch.optim.SGD)


def test_constant_gradient_closed_form(two_params):
    m = two_params(1.0, -2.0)
    opt = SGDLA(m.parameters(), lr=0.1, steps_per_slow_update=3, slow_step_size=0.5)
    theta0 = m.values()
    g = torch.tensor([1.0, -2.0], dtype=torch.float64)
    for t in range(1, 10):
        m.set_grads(*g.tolist())
        opt.step()
        cycles, within = divmod(t, 3)
        # each cycle: fast moves 3 lr g, slow (and fast) moves alpha * 3 lr g
        expected = theta0 - cycles * 0.5 * 3 * 0.1 * g - within * 0.1 * g
        assert_close(m.values(), expected, rtol=1e-14, atol=1e-14)


def test_bad_options_raise():
    p = [torch.zeros(1, requires_grad=True)]
    with pytest.raises(ValueError, match="steps_per_slow_update"):
        SGDLA(p, lr=0.1, steps_per_slow_update=0)
    with pytest.raises(ValueError, match="slow_step_size"):
        SGDLA(p, lr=0.1, slow_step_size=1.5)
