"""Reference checks found by the hardening campaign (issue 25, items 15 and 16).

Conditional LayerNorm with zero condition weights is the plain LayerNorm bit for bit, and a
float64 attention keeps its softmax in float64 on the explicit-scores path.
"""

from __future__ import annotations

import math

import pytest
import torch

from kexue.layers.attention import MultiHeadAttention
from kexue.layers.normalization import LayerNorm


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("cond_hidden", [None, 6])
def test_conditional_layer_norm_with_zero_weights_is_exactly_the_plain_one(dtype, cond_hidden):
    torch.manual_seed(0)
    plain = LayerNorm(64).to(dtype)
    cond = LayerNorm(64, cond_size=5, cond_hidden_size=cond_hidden).to(dtype)
    with torch.no_grad():  # "pretrained" gamma and beta, far from 1 and 0
        plain.weight.copy_(torch.randn(64, dtype=dtype) * 3)
        plain.bias.copy_(torch.randn(64, dtype=dtype))
        cond.weight.copy_(plain.weight)
        cond.bias.copy_(plain.bias)
    x = torch.randn(4, 33, 64, dtype=dtype) * 7 + 2
    c = torch.randn(4, 5, dtype=dtype)
    got, want = cond(x, c), plain(x)
    assert torch.equal(got, want), f"max diff {(got - want).abs().max().item():.3g}"
    # with non-zero condition weights it is still (gamma + W_g c) LN(x) + beta + W_b c
    with torch.no_grad():
        cond.cond_scale.weight.normal_()
        cond.cond_offset.weight.normal_()
    c2 = c.unsqueeze(1)
    if cond.cond_proj is not None:
        c2 = cond.cond_proj(c2)
    y = torch.nn.functional.layer_norm(x.double(), (64,), eps=cond.eps)
    ref = y * (cond.weight.double() + cond.cond_scale(c2).double()) + (
        cond.bias.double() + cond.cond_offset(c2).double())
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(cond(x, c).double(), ref, rtol=tol, atol=tol)


def _reference_attention(att: MultiHeadAttention, x, bias, prev):
    """Attention in float64 NumPy-style math (no fused kernels)."""
    b, n, _ = x.shape
    h, d = att.num_heads, att.head_size

    def split(t):
        return t.view(b, n, h, d).transpose(1, 2)

    q, k, v = split(att.q(x)), split(att.k(x)), split(att.v(x))
    scores = q @ k.transpose(-1, -2) / math.sqrt(d) + prev
    logits = scores + bias
    p = torch.exp(logits - logits.amax(-1, keepdim=True))
    p = p / p.sum(-1, keepdim=True)
    out = (p @ v).transpose(1, 2).reshape(b, n, h * d)
    return att.o(out), scores


def test_float64_attention_keeps_float64_on_the_explicit_path():
    torch.manual_seed(0)
    att = MultiHeadAttention(32, 4).double().eval()
    x = torch.randn(2, 9, 32, dtype=torch.float64) * 4
    mask = torch.zeros(2, 1, 1, 9, dtype=torch.float64)
    mask[1, ..., 6:] = -1e12
    prev = torch.randn(2, 4, 9, 9, dtype=torch.float64) * 3
    with torch.no_grad():
        out, scores = att(x, mask, prev_scores=prev, return_scores=True)
        want, want_scores = _reference_attention(att, x, mask, prev)
    assert out.dtype == torch.float64
    torch.testing.assert_close(scores, want_scores, rtol=1e-13, atol=1e-13)
    # float32 softmax probabilities would agree only to ~1e-7
    torch.testing.assert_close(out, want, rtol=1e-12, atol=1e-12)


def test_half_precision_scores_are_still_normalised_in_float32():
    torch.manual_seed(0)
    att = MultiHeadAttention(16, 2).to(torch.bfloat16).eval()
    x = torch.randn(1, 5, 16).to(torch.bfloat16)
    with torch.no_grad():
        out, _ = att(x, None, return_scores=True)
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()
