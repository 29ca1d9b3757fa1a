import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from kexue.objectives import SOFTPLUS_MINIMAX_B, SOFTPLUS_UPPER_BOUND_B, SquarePlus, squareplus

GRID = torch.arange(-20, 20, 1e-3, dtype=torch.float64)


def test_b_zero_is_relu_and_default_value():
    x = torch.linspace(-5, 5, 101)
    assert torch.equal(squareplus(x, 0.0), F.relu(x))
    assert_close(squareplus(torch.zeros(1), 4.0), torch.ones(1))
    assert_close(SquarePlus(4.0)(x), squareplus(x))


def test_matches_naive_formula_in_float64():
    x = torch.linspace(-30, 30, 1001, dtype=torch.float64)
    for b in (0.5, 1.0, 4.0):
        assert_close(squareplus(x, b), (x + torch.sqrt(x * x + b)) / 2, rtol=1e-12, atol=1e-12)


def test_softplus_upper_bound_at_four_ln2_squared():
    assert abs(SOFTPLUS_UPPER_BOUND_B - 1.9218120557) < 1e-9
    sp = F.softplus(GRID)
    assert bool((squareplus(GRID, 1.9219) >= sp - 1e-12).all())
    below = squareplus(GRID, 1.9) - sp
    assert float(below.min()) < 0 and abs(float(GRID[below.argmin()])) < 0.1


def test_minimax_b():
    def err(b):
        return float((squareplus(GRID, b) - F.softplus(GRID)).abs().max())

    assert abs(err(SOFTPLUS_MINIMAX_B) - 0.075931) < 1e-5
    assert err(SOFTPLUS_MINIMAX_B - 0.05) > err(SOFTPLUS_MINIMAX_B) + 1e-3
    assert err(SOFTPLUS_MINIMAX_B + 0.05) > err(SOFTPLUS_MINIMAX_B) + 1e-3


def test_first_and_second_derivatives():
    b = 2.5
    x = torch.linspace(-6, 6, 49, dtype=torch.float64, requires_grad=True)
    (d1,) = torch.autograd.grad(squareplus(x, b).sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    xd = x.detach()
    assert_close(d1.detach(), 0.5 * (1 + xd / torch.sqrt(xd**2 + b)))
    assert_close(d2, b / (2 * (xd**2 + b) ** 1.5))


def test_float32_stable_for_large_negative_inputs():
    x64 = -torch.logspace(2, 8, 200, dtype=torch.float64)
    x32 = x64.float()
    got = squareplus(x32, 1.0).double()
    ref = 1.0 / (2 * (torch.sqrt(x32.double() ** 2 + 1.0) - x32.double()))
    assert bool((got > 0).all())
    assert float(((got - ref) / ref).abs().max()) < 1e-5
    # the naive float32 formula collapses (spec: exact 0 at x <= -1e4)
    naive = (x32 + torch.sqrt(x32 * x32 + 1.0)) / 2
    assert float(naive[-1]) == 0.0
    # no nan gradients anywhere, even where one branch would overflow
    x = torch.tensor([-1e30, -1e8, 0.0, 1e8, 1e30], requires_grad=True)
    squareplus(x, 1.0).sum().backward()
    assert bool(torch.isfinite(x.grad).all())


def test_grad_at_zero_is_relu_subgradient_for_b0():
    x = torch.tensor([0.0, -1.0, 1.0], requires_grad=True)
    squareplus(x, 0.0).sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("b", [-1.0, math.inf, math.nan])
def test_bad_b(b):
    with pytest.raises(ValueError, match="b must be"):
        squareplus(torch.zeros(2), b)


def test_rejects_integer_tensor():
    with pytest.raises(TypeError, match="floating"):
        squareplus(torch.arange(3), 1.0)
    assert np.isfinite(float(squareplus(torch.tensor(1e38), 4.0)))
