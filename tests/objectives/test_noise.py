import pytest
import torch
from torch.testing import assert_close

from kexue.objectives import GaussianNoise, embedding_noise, jacobian_penalty

from ._toy import toy


def _f(x, A):
    return torch.tanh(x @ A.T)


def test_rademacher_estimator_mean_matches_exact_jacobian_norm():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(3, 4, generator=g, dtype=torch.float64)
    x = torch.randn(2, 4, generator=g, dtype=torch.float64, requires_grad=True)
    out = _f(x, A)
    jac = torch.autograd.functional.jacobian(lambda z: _f(z, A), x.detach())  # (2,3,2,4)
    exact = (jac**2).sum()
    est = jacobian_penalty(out, x, num_samples=4000, generator=g, create_graph=False)
    assert_close(est, exact, rtol=0.03, atol=0)


def test_noise_integrates_to_gradient_penalty_for_mse():
    # E ||f(x+e) - f(x)||^2 ~ sigma^2 * sum_i ||grad f_i||^2 (lambda = 2 for MSE, times 1/2)
    g = torch.Generator().manual_seed(1)
    A = torch.randn(3, 4, generator=g, dtype=torch.float64) * 0.5
    x = torch.randn(1, 4, generator=g, dtype=torch.float64)
    sigma = 1e-2
    eps = torch.randn(100_000, 4, generator=g, dtype=torch.float64) * sigma
    mc = ((_f(x + eps, A) - _f(x, A)) ** 2).sum(1)
    jac = torch.autograd.functional.jacobian(lambda z: _f(z, A), x)
    predicted = sigma**2 * (jac**2).sum()
    assert abs(float(mc.mean() - predicted)) < 3 * float(mc.std()) / 100_000**0.5 + 1e-3 * float(
        predicted
    )


def test_gaussian_noise_module_and_embedding_noise():
    layer = GaussianNoise(0.5)
    x = torch.zeros(20000)
    assert abs(float(layer(x).std()) - 0.5) < 0.02
    layer.eval()
    assert torch.equal(layer(x), x)
    model, ids, _ = toy()
    w0 = model.tok.weight.detach().clone()
    clean = model(ids)
    with embedding_noise(model, 0.1, generator=torch.Generator().manual_seed(0)):
        noisy = model(ids)
    assert not torch.equal(noisy, clean)
    assert torch.equal(model(ids), clean) and torch.equal(model.tok.weight.detach(), w0)
    with pytest.raises(ValueError, match="sigma"):
        GaussianNoise(-1.0)
