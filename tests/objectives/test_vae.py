"""The VAE regularisers against their formulas: closed-form KL vs. Monte Carlo and torch."""

from __future__ import annotations

import pytest
import torch

from kexue.objectives import gaussian_kl, naive_code_regularizer


def test_gaussian_kl_matches_monte_carlo_and_torch():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(3, 4, generator=g, dtype=torch.float64)
    log_var = 0.8 * torch.randn(3, 4, generator=g, dtype=torch.float64)
    closed = gaussian_kl(mu, log_var, reduction="none")
    q = torch.distributions.Normal(mu, torch.exp(0.5 * log_var))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.testing.assert_close(closed, torch.distributions.kl_divergence(q, p).sum(-1))
    # Monte Carlo: E_q[log q(z) - log p(z)] with 400k samples, within 4 standard errors
    z = q.sample((400_000,))
    terms = (q.log_prob(z) - p.log_prob(z)).sum(-1)
    mc, se = terms.mean(0), terms.std(0) / 400_000**0.5
    assert ((mc - closed).abs() < 4 * se).all(), (mc, closed, se)


def test_gaussian_kl_is_zero_only_at_the_prior_and_reduces():
    zero = torch.zeros(5, 3)
    assert gaussian_kl(zero, zero).item() == 0.0
    mu, lv = torch.randn(5, 3), torch.randn(5, 3)
    per = gaussian_kl(mu, lv, reduction="none")
    assert per.shape == (5,) and (per > 0).all()
    torch.testing.assert_close(gaussian_kl(mu, lv), per.mean())
    torch.testing.assert_close(gaussian_kl(mu, lv, reduction="sum"), per.sum())


def test_naive_regularizer_formula():
    mu = torch.tensor([[1.0, -2.0]])
    log_var = torch.log(torch.tensor([[4.0, 0.25]]))  # sigma = 2, 0.5
    # |mu|^2 = 5, |sigma - 1|^2 = 1 + 0.25
    torch.testing.assert_close(naive_code_regularizer(mu, log_var), torch.tensor(6.25))
    assert naive_code_regularizer(torch.zeros(2, 3), torch.zeros(2, 3)).item() == 0.0


@pytest.mark.parametrize("fn", [gaussian_kl, naive_code_regularizer])
def test_bad_input(fn):
    with pytest.raises(ValueError, match="same shape"):
        fn(torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(TypeError, match="floating-point"):
        fn(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="reduction"):
        fn(torch.zeros(2, 3), torch.zeros(2, 3), reduction="avg")
