import math

import pytest
import torch
from torch.testing import assert_close

from kexue.objectives import nce_loss, negative_sampling_loss


def _sample_target(n, a, b, g):
    # exact rejection sampler for p(x) ∝ exp(-a x^2 - b x^4) from N(0, 1/(2a)), a > 0
    out = []
    while sum(len(o) for o in out) < n:
        x = torch.randn(4 * n, generator=g, dtype=torch.float64) / math.sqrt(2 * a)
        keep = torch.rand(4 * n, generator=g, dtype=torch.float64) < torch.exp(-b * x**4)
        out.append(x[keep])
    return torch.cat(out)[:n]


def test_nce_recovers_log_partition_function():
    # spec: Z(0.5, 0.1) = 2.149706, log Z = 0.765331 (quadrature)
    g = torch.Generator().manual_seed(0)
    data = _sample_target(20000, 0.5, 0.1, g)
    sigma = 2.0
    noise = torch.randn(20000, generator=g, dtype=torch.float64) * sigma

    def log_u(x):
        return -0.5 * (x / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi))

    params = torch.tensor([0.3, 0.3, 0.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([params], max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        a, b, gamma = params

        def G(x):
            return -a * x**2 - b * x**4

        loss = nce_loss(
            G(data), G(noise), gamma, data_log_noise=log_u(data), noise_log_noise=log_u(noise)
        )
        loss.backward()
        return loss

    opt.step(closure)
    a, b, gamma = params.detach().tolist()
    assert abs(gamma - 0.765331) < 0.05
    assert abs(a - 0.5) < 0.1 and abs(b - 0.1) < 0.05


def test_nce_value_closed_form():
    d = torch.tensor([1.0, 2.0], dtype=torch.float64)
    n = torch.tensor([-1.0, 0.5, 0.0], dtype=torch.float64)
    gamma = 0.3
    ref = (
        -torch.log(torch.sigmoid(d - gamma)).mean() - torch.log(1 - torch.sigmoid(n - gamma)).mean()
    )
    assert_close(nce_loss(d, n, gamma), ref)


def test_negative_sampling_converges_to_shifted_pmi():
    # Free scores s_ij trained with SGNS converge to PMI(i, j) - log k (Levy & Goldberg).
    g = torch.Generator().manual_seed(0)
    joint = torch.rand(4, 4, generator=g, dtype=torch.float64) + 0.2
    joint = joint / joint.sum()
    pi, pj = joint.sum(1), joint.sum(0)
    k = 3
    n = 200_000
    pairs = torch.multinomial(joint.flatten(), n, replacement=True, generator=g)
    i, j = pairs // 4, pairs % 4
    neg = torch.multinomial(pj, n * k, replacement=True, generator=g).view(n, k)
    s = torch.zeros(4, 4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([s], max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = negative_sampling_loss(s[i, j], s[i[:, None], neg])
        loss.backward()
        return loss

    opt.step(closure)
    pmi = torch.log(joint / (pi[:, None] * pj[None, :]))
    assert (s.detach() - (pmi - math.log(k))).abs().max() < 0.1


def test_bad_inputs():
    with pytest.raises(ValueError, match="shape"):
        negative_sampling_loss(torch.zeros(3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="both"):
        nce_loss(torch.zeros(3), torch.zeros(3), 0.0, data_log_noise=torch.zeros(3))
    with pytest.raises(ValueError, match="non-finite"):
        nce_loss(torch.tensor([float("nan")]), torch.zeros(3), 0.0)
