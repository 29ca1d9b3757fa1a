"""LayerNorm (plain and conditional) and RMSNorm against their formulas."""

from __future__ import annotations

import pytest
import torch

from kexue.layers import LayerNorm, RMSNorm


def test_plain_layernorm_matches_torch():
    x = torch.randn(2, 5, 8)
    ln = LayerNorm(8, 1e-6)
    with torch.no_grad():
        ln.weight.normal_()
        ln.bias.normal_()
    ref = torch.nn.functional.layer_norm(x, (8,), ln.weight, ln.bias, 1e-6)
    torch.testing.assert_close(ln(x), ref)


def test_conditional_layernorm_zero_init_equals_plain_and_formula_after_training():
    x = torch.randn(3, 4, 8)
    cln = LayerNorm(8, 1e-6, cond_size=5)
    c = torch.randn(3, 5)
    plain = torch.nn.functional.layer_norm(x, (8,), cln.weight, cln.bias, 1e-6)
    torch.testing.assert_close(cln(x, c), plain)
    with torch.no_grad():
        cln.cond_scale.weight.normal_()
        cln.cond_offset.weight.normal_()
    normed = torch.nn.functional.layer_norm(x, (8,), None, None, 1e-6)
    gamma = cln.weight + c @ cln.cond_scale.weight.T
    beta = cln.bias + c @ cln.cond_offset.weight.T
    torch.testing.assert_close(cln(x, c), normed * gamma[:, None] + beta[:, None])


def test_conditional_layernorm_with_hidden_projection_starts_plain():
    cln = LayerNorm(8, cond_size=5, cond_hidden_size=7, cond_act="tanh")
    x, c = torch.randn(2, 3, 8), torch.randn(2, 5)
    torch.testing.assert_close(cln(x, c), torch.nn.functional.layer_norm(x, (8,), eps=1e-12))


def test_condition_errors():
    with pytest.raises(ValueError, match="condition"):
        LayerNorm(8, cond_size=4)(torch.randn(1, 8))
    with pytest.raises(ValueError, match="without cond_size"):
        LayerNorm(8)(torch.randn(1, 8), torch.randn(1, 4))
    with pytest.raises(ValueError, match="last dim 3"):
        LayerNorm(8, cond_size=4)(torch.randn(1, 2, 8), torch.randn(1, 3))


def test_rmsnorm_formula():
    x = torch.randn(2, 3, 8, dtype=torch.float64)
    n = RMSNorm(8, 1e-6).double()
    with torch.no_grad():
        n.weight.normal_()
    ref = x / torch.sqrt((x**2).mean(-1, keepdim=True) + 1e-6) * n.weight
    torch.testing.assert_close(n(x), ref)
