"""MultiHeadAttention: the fused SDPA path equals the explicit path; cache; NEZHA terms."""

from __future__ import annotations

import torch

from kexue.layers import MultiHeadAttention
from kexue.models import KVCache, masks


def test_fused_and_explicit_paths_agree_with_mask():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 4).eval()
    x = torch.randn(2, 5, 16)
    keep = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    bias = masks.to_bias(masks.key_padding(keep, 5), torch.float32)
    fused, _ = attn(x, bias)
    explicit, scores = attn(x, bias, return_scores=True)
    torch.testing.assert_close(fused, explicit, atol=1e-6, rtol=1e-5)
    assert scores.shape == (2, 4, 5, 5)


def test_zero_relative_embeddings_change_nothing():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 2).eval()
    x = torch.randn(1, 4, 16)
    zero = torch.zeros(1, 4, 4, 8)
    torch.testing.assert_close(attn(x, relative=(zero, zero))[0], attn(x)[0])


def test_cached_attention_equals_full():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 4).eval()
    x = torch.randn(2, 6, 16)
    full, _ = attn(x, masks.to_bias(masks.causal(6, 6, x.device), x.dtype))
    cache = KVCache(1)
    outs = [attn(x[:, :3], masks.to_bias(masks.causal(3, 3, x.device), x.dtype), cache=cache)[0]]
    for t in range(3, 6):
        outs.append(attn(x[:, t : t + 1], cache=cache)[0])
    torch.testing.assert_close(torch.cat(outs, 1), full, atol=1e-6, rtol=1e-5)
    assert cache.length == 6


def test_fused_qkv_tracks_weight_updates():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 4).eval()
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        fused, _ = attn(x)
    grad_out, _ = attn(x)  # autograd on: separate projections
    torch.testing.assert_close(fused, grad_out.detach())
    with torch.no_grad():
        attn.k.weight.mul_(2.0)  # in-place, as an optimiser step would
        after, _ = attn(x)
    torch.testing.assert_close(after, attn(x)[0].detach())
    assert (after - fused).abs().max() > 1e-4
    attn.load_state_dict({k: torch.zeros_like(v) for k, v in attn.state_dict().items()})
    with torch.no_grad():
        assert attn(x)[0].abs().max() == 0
