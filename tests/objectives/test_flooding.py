import pytest
import torch
from torch.testing import assert_close

from kexue.objectives import Flooding, flooding


def _loss_and_grad(theta: torch.Tensor, b: float):
    theta = theta.clone().requires_grad_()
    raw = (theta**2).sum() / 2
    (g_raw,) = torch.autograd.grad(raw, theta, retain_graph=True)
    (g_flood,) = torch.autograd.grad(flooding(raw, b), theta)
    return raw.detach(), g_raw, g_flood


def test_gradient_flips_sign_below_flood_level():
    theta = torch.tensor([0.3, -0.2], dtype=torch.float64)  # L = 0.065
    raw, g, gf = _loss_and_grad(theta, b=0.1)
    assert raw < 0.1
    assert_close(gf, -g)
    raw, g, gf = _loss_and_grad(theta, b=0.01)
    assert raw > 0.01
    assert_close(gf, g)


def test_value_closed_form_and_b_zero_identity():
    loss = torch.tensor(0.05, dtype=torch.float64)
    assert_close(flooding(loss, 0.2), torch.tensor(0.35, dtype=torch.float64))  # 2b - L
    assert_close(flooding(loss, 0.0), loss)
    assert_close(Flooding(0.2)(loss), flooding(loss, 0.2))


def test_descent_then_ascent_is_gradient_penalty_step():
    # Su (7643): theta - e g(theta), then + e g(.), equals theta - e^2/2 grad||g||^2 to O(e^3).
    A = torch.tensor([[2.0, 0.3], [0.3, 0.5]], dtype=torch.float64)

    def loss(t):
        return 0.5 * t @ A @ t + 0.1 * (t**4).sum()

    def grad(t):
        t = t.clone().requires_grad_()
        return torch.autograd.grad(loss(t), t)[0]

    def penalty_grad(t):
        t = t.clone().requires_grad_()
        (g,) = torch.autograd.grad(loss(t), t, create_graph=True)
        return torch.autograd.grad((g * g).sum(), t)[0]

    theta0 = torch.tensor([1.0, -0.7], dtype=torch.float64)
    errs = []
    for eps in (0.1, 0.05, 0.025):
        t1 = theta0 - eps * grad(theta0)
        t2 = t1 + eps * grad(t1)
        errs.append(float((t2 - (theta0 - eps**2 / 2 * penalty_grad(theta0))).norm()))
    # O(eps^3): halving eps divides the error by about 8.
    assert 6 < errs[0] / errs[1] < 10 and 6 < errs[1] / errs[2] < 10


def test_training_loss_hovers_around_flood_level():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 8, generator=g)
    y = torch.randint(0, 2, (32,), generator=g)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 2))
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    b, history = 0.2, []
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        flooding(loss, b).backward()
        opt.step()
        history.append(float(loss.detach()))
    tail = torch.tensor(history[-50:])
    assert abs(float(tail.mean()) - b) < 0.05
    assert float(tail.min()) < b < float(tail.max())


@pytest.mark.parametrize("b", [-0.1, float("inf"), float("nan")])
def test_bad_flood_level(b):
    with pytest.raises(ValueError, match="flood level"):
        flooding(torch.tensor(1.0), b)


def test_rejects_per_sample_and_non_finite_loss():
    with pytest.raises(ValueError, match="scalar"):
        flooding(torch.ones(3), 0.1)
    with pytest.raises(ValueError, match="non-finite"):
        flooding(torch.tensor(float("nan")), 0.1)
    with pytest.raises(TypeError):
        Flooding(0.1, level=2)
