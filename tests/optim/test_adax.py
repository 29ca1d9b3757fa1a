"""AdaX: float64 reference of the article's formulas, closed-form properties, long horizon."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from kexue.optim import AdaX
from kexue.optim.adax import adax_beta2_hat, adax_ema_weight


def _reference(theta0, grad_fn, steps, lr, beta1, beta2, eps, form):
    """The article's AdaX in float64 NumPy, with the raw (unnormalised) second moment.

    form="v2": v_hat = v / ((1+b2)^t - 1), step m / (sqrt(v_hat) + eps)   (Su's AdaX_V2)
    form="v1": lr_t = lr * sqrt((1+b2)^t - 1), step m / (sqrt(v) + eps)   (Su's AdaX_V1)
    """
    theta = np.array(theta0, dtype=np.float64)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    out = []
    for t in range(1, steps + 1):
        g = grad_fn(theta, t)
        m = beta1 * m + (1 - beta1) * g
        v = (1 + beta2) * v + beta2 * g * g
        bias = (1 + beta2) ** t - 1
        if form == "v2":
            theta = theta - lr * m / (np.sqrt(v / bias) + eps)
        else:
            theta = theta - lr * math.sqrt(bias) * m / (np.sqrt(v) + eps)
        out.append(theta.copy())
    return out


def _quadratic_grad(seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 3.0, size=5)
    noise = rng.standard_normal((20001, 5)) * 0.3

    def grad(theta, t):
        return a * (theta - 1.0) + noise[t]

    return grad


def test_matches_float64_reference_of_the_article_for_10k_steps():
    grad = _quadratic_grad(0)
    theta0 = np.linspace(-2, 2, 5)
    steps = 10_000
    ref = _reference(theta0, grad, steps, lr=3e-3, beta1=0.9, beta2=1e-4, eps=1e-6, form="v2")
    p = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    opt = AdaX([p], lr=3e-3, betas=(0.9, 1e-4), eps=1e-6)
    worst = 0.0
    for t in range(1, steps + 1):
        p.grad = torch.from_numpy(grad(p.detach().numpy(), t))
        opt.step()
        if t % 100 == 0 or t < 100:
            worst = max(worst, float(np.abs(p.detach().numpy() - ref[t - 1]).max()))
    assert worst < 1e-9
    assert np.abs(ref[-1] - theta0).max() > 0.5  # the trajectory really moved
    # the stored v_hat is the normalised raw moment, i.e. a plain running average early on
    assert_close(opt.state[p]["step"], steps)


def test_v1_and_v2_forms_agree_with_eps_zero():
    grad = _quadratic_grad(1)
    theta0 = np.zeros(5)
    v1 = _reference(theta0, grad, 500, lr=1e-2, beta1=0.9, beta2=1e-4, eps=0.0, form="v1")
    v2 = _reference(theta0, grad, 500, lr=1e-2, beta1=0.9, beta2=1e-4, eps=0.0, form="v2")
    np.testing.assert_allclose(v1[-1], v2[-1], rtol=1e-11)
    p = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    opt = AdaX([p], lr=1e-2, eps=0.0)
    for t in range(1, 501):
        p.grad = torch.from_numpy(grad(p.detach().numpy(), t))
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(), v1[-1], rtol=1e-10, atol=1e-12)


def test_first_update_is_lr_times_one_minus_beta1_times_sign():
    g = torch.tensor([3.0, -0.002, 1e-5, -70.0], dtype=torch.float64)
    p = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = AdaX([p], lr=0.01, betas=(0.9, 1e-4), eps=0.0)
    p.grad = g.clone()
    opt.step()
    assert_close(p.detach(), -0.01 * (1 - 0.9) * torch.sign(g), rtol=1e-14, atol=0)


def test_beta2_hat_schedule_values_from_the_article():
    # spec numbers (beta2 = 1e-4): 0 at t=1, then 0.50002, 0.90004, 0.990049, 0.999049, 0.9999418
    assert adax_beta2_hat(1, 1e-4) == 0.0
    expected = {2: 0.50002, 10: 0.90004, 100: 0.990049, 1000: 0.999049, 10000: 0.9999418}
    for t, value in expected.items():
        assert adax_beta2_hat(t, 1e-4) == pytest.approx(value, abs=1e-5)
    # no overflow, no cancellation far beyond where (1 + beta2)^t overflows float64
    assert 0.0 <= adax_ema_weight(10**8, 1e-4) < 1e-300
    assert adax_ema_weight(1, 1e-12) == pytest.approx(1.0, rel=1e-9)


def test_raw_and_ema_forms_of_v_hat_agree():
    rng = np.random.default_rng(3)
    beta2 = 1e-4
    v_raw, v_hat = 0.0, 0.0
    for t in range(1, 1001):
        g2 = rng.standard_normal() ** 2
        v_raw = (1 + beta2) * v_raw + beta2 * g2
        b = adax_beta2_hat(t, beta2)
        v_hat = b * v_hat + (1 - b) * g2
        assert v_hat == pytest.approx(v_raw / ((1 + beta2) ** t - 1), rel=1e-12)


def test_two_million_steps_of_a_constant_gradient_stay_finite_in_float32():
    """What this does: 5000 real steps from t = 1, then the step counter of the *real*
    optimizer state is advanced to 8.8e5, 8.9e5 (where the raw (1+b2)^t overflows float32),
    1e6, 1.5e6 and 2e6 - 500, and 500 real ``AdaX.step`` calls run from each, so the last
    update is step 2,000,000. With a constant gradient the exact state at any t is
    m = g (1 - b1^t) ~ g and v_hat = g^2, which the carried-over state already equals, so
    the jumps do not change what a full 2M-step run would hold at those counters. The literal
    run of 2,000,000 consecutive steps is ``experiments/optim_adax_two_million_steps.py``
    (about 1.5 min; its result record is in ``results/optim.jsonl``)."""
    g = torch.tensor([1e-3, 1.0, 1e3, -5.0], dtype=torch.float32)
    p = torch.zeros(4, dtype=torch.float32, requires_grad=True)
    lr, eps = 1e-3, 1e-6
    opt = AdaX([p], lr=lr, betas=(0.9, 1e-4), eps=eps)
    p.grad = g.clone()
    for _ in range(5000):
        opt.step()
    state = opt.state[p]
    expected_step = -lr * g / (g.abs() + eps)
    for t0 in (880_000, 890_000, 1_000_000, 1_500_000, 1_999_500):
        state["step"] = t0
        for _ in range(500):
            before = p.detach().clone()
            opt.step()
        assert torch.isfinite(p).all() and torch.isfinite(state["exp_avg_sq"]).all()
        assert_close(state["exp_avg_sq"], g * g, rtol=1e-5, atol=0)
        assert_close(state["exp_avg"], g, rtol=1e-5, atol=0)
        assert_close(p.detach() - before, expected_step, rtol=1e-3, atol=1e-7)
    assert state["step"] == 2_000_000
    # the naive stored form would have overflowed: (1 + b2)^t is inf in float32 by t = 8.9e5
    assert torch.isinf(torch.tensor(1 + 1e-4, dtype=torch.float32) ** 890_000)


@pytest.mark.parametrize("other", [False, None])
def test_foreach_and_single_tensor_paths_agree(other):
    torch.manual_seed(0)
    # 300 x 300: foreach=None takes the per-tensor loop with the reused scratch buffer
    a = [torch.randn(300, 300, requires_grad=True), torch.randn(5, requires_grad=True)]
    b = [t.detach().clone().requires_grad_() for t in a]
    oa, ob = AdaX(a, lr=1e-2, foreach=True), AdaX(b, lr=1e-2, foreach=other)
    for _ in range(5):
        for x, y in zip(a, b):
            x.grad = torch.randn_like(x)
            y.grad = x.grad.clone()
        oa.step()
        ob.step()
    for x, y in zip(a, b):
        assert_close(x, y, rtol=1e-6, atol=1e-7)


def test_converges_on_logistic_regression():
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    w_true = torch.tensor([2.0, -1.0, 0.5, 0.0])
    y = (x @ w_true > 0).float()
    w = torch.zeros(4, requires_grad=True)
    opt = AdaX([w], lr=0.05)
    losses = []
    for _ in range(150):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": -1e-3}, "lr"),
        ({"betas": (1.0, 1e-4)}, "beta1"),
        ({"betas": (0.9, 0.0)}, "beta2"),
        ({"betas": (0.9, 1.5)}, "beta2"),
        ({"eps": -1.0}, "eps"),
    ],
)
def test_bad_hyperparameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AdaX([torch.zeros(2, requires_grad=True)], **kwargs)


def test_bad_group_override_and_unknown_kwarg_raise():
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="lr"):
        AdaX([{"params": [p], "lr": -1.0}])
    with pytest.raises(TypeError):
        AdaX([p], weight_decay=0.1)


def test_sparse_gradient_raises_clearly():
    emb = torch.nn.Embedding(10, 3, sparse=True)
    opt = AdaX(emb.parameters())
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(ValueError, match="sparse"):
        opt.step()
