import numpy as np
import pytest
import scipy.linalg
import torch
from torch.testing import assert_close

from kexue.objectives import gradient_regularized_backward, parameter_gradient_norm

A = torch.tensor([[3.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.4]], dtype=torch.float64)


def _quadratic(theta):
    return lambda: 0.5 * theta @ A @ theta


@pytest.mark.parametrize("method", ["double_backprop", "finite_difference"])
def test_penalty_gradient_is_two_a_squared_theta(method):
    theta = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    t0 = theta.detach().clone()
    lam = 0.3
    gradient_regularized_backward(_quadratic(theta), [theta], lam, method=method)
    expected = A @ t0 + lam * 2 * A @ A @ t0
    assert_close(theta.grad, expected, rtol=1e-4, atol=0)
    assert torch.equal(theta.detach(), t0)  # parameters restored bit-identically


def test_parameter_gradient_norm_double_backprop():
    theta = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    r = parameter_gradient_norm(_quadratic(theta)(), [theta])
    assert_close(r, ((A @ theta) ** 2).sum())
    (gr,) = torch.autograd.grad(r, theta)
    assert_close(gr, 2 * A @ A @ theta.detach())


def test_gd_follows_the_modified_flow_to_second_order():
    # GD with step h on L tracks the flow of L + h/4 ||grad L||^2 (7787): at t = 1 the error
    # against the plain flow is O(h), against the modified flow O(h^2).
    a = A.numpy()
    theta0 = np.array([1.0, -2.0, 0.5])
    plain_err, mod_err = [], []
    for h in (0.1, 0.05, 0.025):
        k = round(1 / h)
        gd = np.linalg.matrix_power(np.eye(3) - h * a, k) @ theta0
        plain = scipy.linalg.expm(-a) @ theta0
        modified = scipy.linalg.expm(-(a + h / 2 * a @ a)) @ theta0
        plain_err.append(np.linalg.norm(gd - plain))
        mod_err.append(np.linalg.norm(gd - modified))
    assert 1.7 < plain_err[0] / plain_err[1] < 2.3
    assert 3.4 < mod_err[0] / mod_err[1] < 4.6 and 3.4 < mod_err[1] / mod_err[2] < 4.6


def test_bad_args():
    theta = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="method"):
        gradient_regularized_backward(_quadratic(theta), [theta], 0.1, method="hvp")
    with pytest.raises(ValueError, match="lam"):
        gradient_regularized_backward(_quadratic(theta), [theta], -1.0)
    with pytest.raises(ValueError, match="no parameters"):
        gradient_regularized_backward(_quadratic(theta), [torch.zeros(2)], 0.1)
