"""piecewise_linear and the schedule wrapper: closed forms."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from kexue.optim import extend_with_piecewise_linear_lr, piecewise_linear


def test_piecewise_linear_values():
    s = {1000: 1.0, 2000: 0.1}
    assert piecewise_linear(0, s) == 0.0  # (0, 0) is prepended: a warm-up
    assert piecewise_linear(500, s) == pytest.approx(0.5)
    assert piecewise_linear(1000, s) == 1.0
    assert piecewise_linear(1500, s) == pytest.approx(0.55)
    assert piecewise_linear(5000, s) == pytest.approx(0.1)
    assert piecewise_linear(3, {0: 2.0, 10: 0.0}) == pytest.approx(1.4)
    assert piecewise_linear(7, {0: 2.0}) == 2.0


@pytest.mark.parametrize("bad", [{}, {-1: 1.0}, {10: -1.0}, {1.5: 1.0}, {10: float("nan")}])
def test_bad_schedules_raise(bad):
    with pytest.raises(ValueError):
        piecewise_linear(0, bad)
    with pytest.raises(TypeError):
        piecewise_linear(0, [(0, 1.0)])


def test_wrapper_scales_each_update_by_the_schedule(two_params):
    SGDLR = extend_with_piecewise_linear_lr(torch.optim.SGD)
    m = two_params(1.0, -2.0)
    opt = SGDLR(m.parameters(), lr=0.1, lr_schedule={4: 1.0, 8: 0.5})
    theta = m.values()
    g = torch.tensor([1.0, -3.0], dtype=torch.float64)
    for t in range(12):
        m.set_grads(*g.tolist())
        opt.step()
        theta = theta - 0.1 * piecewise_linear(t, {4: 1.0, 8: 0.5}) * g
        assert_close(m.values(), theta, rtol=1e-14, atol=1e-14)
    assert opt.param_groups[0]["lr_schedule_step"] == 12
    assert m.values()[0] != 1.0
