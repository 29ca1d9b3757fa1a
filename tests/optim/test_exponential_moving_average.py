"""EMA of the weights: closed form, swap-in/swap-out."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from kexue.optim import extend_with_exponential_moving_average

SGDEMA = extend_with_exponential_moving_average(torch.optim.SGD)


def test_bias_corrected_average_closed_form_and_swap(two_params):
    m = two_params(1.0, -2.0)
    d = 0.8
    opt = SGDEMA(m.parameters(), lr=0.1, ema_momentum=d)
    g = torch.tensor([1.0, -2.0], dtype=torch.float64)
    thetas = []
    for _ in range(6):
        m.set_grads(*g.tolist())
        opt.step()
        thetas.append(m.values())
    t = len(thetas)
    ema = sum((1 - d) * d ** (t - 1 - s) * th for s, th in enumerate(thetas))
    current = m.values()
    with opt.ema_weights():
        assert_close(m.values(), ema / (1 - d ** t), rtol=1e-14, atol=1e-14)
        with pytest.raises(RuntimeError, match="restore_weights"):
            opt.step()
    assert_close(m.values(), current)
    opt.apply_ema_weights(bias_correction=False)
    assert_close(m.values(), ema, rtol=1e-14, atol=1e-14)
    with pytest.raises(RuntimeError, match="already applied"):
        opt.apply_ema_weights()
    opt.restore_weights()
    assert_close(m.values(), current)
    with pytest.raises(RuntimeError, match="without"):
        opt.restore_weights()


def test_bad_momentum_raises():
    with pytest.raises(ValueError, match="ema_momentum"):
        SGDEMA([torch.zeros(1, requires_grad=True)], lr=0.1, ema_momentum=1.0)
