"""GatedDilatedConv1d: the residual identity (eq. 2 ⇔ eq. 3), receptive field, masking."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kexue.layers.conv import GatedDilatedConv1d


def _eq2(block: GatedDilatedConv1d, x: torch.Tensor) -> torch.Tensor:
    """Y = X + Conv1D_1'(X) ⊗ σ(Conv1D_2(X)), Conv1D_1' = Conv1D_1 − I, in float64 by hand."""
    d, k = block.channels, block.kernel_size
    w = block.conv.weight.detach().double()
    b = block.conv.bias.detach().double()
    w1, w2 = w[:d].clone(), w[d:]
    w1[:, :, k // 2] -= torch.eye(d, dtype=torch.float64)  # subtract the identity at the centre tap
    pad = block.dilation * (k - 1) // 2
    xt = x.double().transpose(1, 2)
    c1 = F.conv1d(xt, w1, b[:d], padding=pad, dilation=block.dilation).transpose(1, 2)
    c2 = F.conv1d(xt, w2, b[d:], padding=pad, dilation=block.dilation).transpose(1, 2)
    return x.double() + c1 * torch.sigmoid(c2)


@pytest.mark.parametrize("dilation", [1, 2, 4])
def test_residual_form_equals_eq2_with_reparameterised_conv(dilation):
    block = GatedDilatedConv1d(6, 3, dilation).eval()
    x = torch.randn(2, 11, 6)
    torch.testing.assert_close(block(x).double(), _eq2(block, x), atol=1e-5, rtol=1e-5)


def test_plain_glu_form():
    block = GatedDilatedConv1d(4, 3, 2, residual=False, out_channels=5).eval()
    x = torch.randn(3, 9, 4)
    h, g = block.gates(x)
    torch.testing.assert_close(block(x), h * torch.sigmoid(g))
    assert block(x).shape == (3, 9, 5)


def test_receptive_field_of_rates_1_2_4_is_plus_minus_7():
    torch.manual_seed(1)
    stack = torch.nn.ModuleList(GatedDilatedConv1d(3, 3, r) for r in (1, 2, 4)).eval()
    x = torch.randn(1, 31, 3, requires_grad=True)
    y = x
    for block in stack:
        y = block(y)
    y[0, 15].sum().backward()
    seen = (x.grad[0].abs().sum(-1) > 0).nonzero().flatten().tolist()
    assert seen == list(range(15 - 7, 15 + 8))


def test_padding_never_reaches_real_steps_and_is_zeroed():
    block = GatedDilatedConv1d(4, 3, 2).eval()
    x = torch.randn(2, 8, 4)
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])
    noisy = x.clone()
    noisy[1, 5:] = 100.0  # garbage in the padding
    y, y_noisy = block(x, mask), block(noisy, mask)
    torch.testing.assert_close(y, y_noisy)
    assert torch.all(y[1, 5:] == 0)
    # the real steps of row 1 equal the block run on the row cut to its length
    torch.testing.assert_close(y[1, :5], block(x[1:2, :5])[0])


def test_gate_noise_only_in_training_and_bounded():
    block = GatedDilatedConv1d(4, 3, 1, gate_noise=0.1)
    x = torch.randn(2, 7, 4)
    h, g = block.gates(x)
    block.train()
    torch.manual_seed(3)
    y = block(x)
    assert not torch.allclose(y, x * (1 - torch.sigmoid(g)) + h * torch.sigmoid(g))
    # every gate value lies within σ(g·0.9) .. σ(g·1.1): recover s from y = x + (h − x)·s
    s = (y - x) / (h - x)
    lo = torch.minimum(torch.sigmoid(g * 0.9), torch.sigmoid(g * 1.1))
    hi = torch.maximum(torch.sigmoid(g * 0.9), torch.sigmoid(g * 1.1))
    assert torch.all(s >= lo - 1e-4) and torch.all(s <= hi + 1e-4)
    block.eval()
    torch.testing.assert_close(block(x), x * (1 - torch.sigmoid(g)) + h * torch.sigmoid(g))


def test_bad_arguments():
    with pytest.raises(ValueError, match="out_channels == channels"):
        GatedDilatedConv1d(4, out_channels=5)
    with pytest.raises(ValueError, match="odd"):
        GatedDilatedConv1d(4, 2)
    with pytest.raises(ValueError, match=r"expected \(batch, time, 4\)"):
        GatedDilatedConv1d(4)(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="mask shape"):
        GatedDilatedConv1d(4)(torch.randn(2, 3, 4), torch.ones(2, 4))


def test_rezero_form_starts_as_identity_and_matches_its_formula():
    torch.manual_seed(0)
    block = GatedDilatedConv1d(6, 3, 2, rezero=True).eval()
    x = torch.randn(2, 9, 6, dtype=torch.float64)
    block = block.double()
    torch.testing.assert_close(block(x), x)  # alpha starts at 0
    with torch.no_grad():
        block.alpha.fill_(0.7)
    h, g = block.gates(x)
    want = x + 0.7 * torch.nn.functional.layer_norm(h * torch.sigmoid(g), (6,),
                                                     block.norm.weight, block.norm.bias)
    torch.testing.assert_close(block(x), want)
    with pytest.raises(ValueError, match="residual"):
        GatedDilatedConv1d(6, rezero=True, residual=False)
