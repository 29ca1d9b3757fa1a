"""SimSiam / BYOL losses: values against the formula, and what stop-gradient removes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kexue.objectives import byol_loss, negative_cosine, simsiam_loss


def test_values_match_the_formulas():
    g = torch.Generator().manual_seed(0)
    p1, p2, z1, z2 = (torch.randn(6, 5, generator=g, dtype=torch.float64) for _ in range(4))
    d = lambda p, z: -(F.normalize(p, dim=1) * F.normalize(z, dim=1)).sum(1).mean()  # noqa: E731
    torch.testing.assert_close(simsiam_loss(p1, p2, z1, z2), 0.5 * d(p1, z2) + 0.5 * d(p2, z1))
    mse = lambda p, z: (F.normalize(p, dim=1) - F.normalize(z, dim=1)).square().sum(1).mean()  # noqa: E731,E501
    torch.testing.assert_close(byol_loss(p1, p2, z1, z2), mse(p1, z2) + mse(p2, z1))
    assert negative_cosine(z1, z1).item() == pytest.approx(-1.0)


def test_stop_gradient_cuts_the_target_branch():
    p = torch.randn(4, 3, requires_grad=True)
    z = torch.randn(4, 3, requires_grad=True)
    negative_cosine(p, z).backward()
    assert z.grad is None and p.grad is not None
    negative_cosine(p, z, stop_gradient=False).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match="one shape"):
        negative_cosine(torch.zeros(4, 3), torch.zeros(4, 2))
