"""store_input_major: the [in, out] memory order changes kernels, never values or the API."""

from __future__ import annotations

import torch
from torch import nn

from kexue.layers import FeedForward, MultiHeadAttention, is_input_major, store_input_major
from kexue.layers.weight_layout import concat_rows


def test_store_input_major_keeps_shape_values_and_outputs():
    torch.manual_seed(0)
    ffn = FeedForward(8, 24, "gelu")
    before = {k: v.clone() for k, v in ffn.state_dict().items()}
    x = torch.randn(3, 5, 8)
    y = ffn(x)
    assert not is_input_major(ffn.fc1.weight)
    store_input_major(ffn)
    assert is_input_major(ffn.fc1.weight) and is_input_major(ffn.fc2.weight)
    assert ffn.fc1.weight.shape == (24, 8) and ffn.fc1.weight.stride() == (1, 24)
    for k, v in ffn.state_dict().items():
        assert torch.equal(v, before[k]), k
    torch.testing.assert_close(ffn(x), y)
    store_input_major(ffn)  # idempotent: the same parameter objects stay
    assert ffn.fc1.weight.stride() == (1, 24)


def test_input_major_survives_loading_training_and_dtype_casts():
    torch.manual_seed(0)
    ref = nn.Linear(6, 4)
    lin = store_input_major(nn.Linear(6, 4))
    lin.load_state_dict(ref.state_dict())  # copy_ keeps the destination's strides
    assert is_input_major(lin.weight)
    assert torch.equal(lin.weight, ref.weight)
    x = torch.randn(5, 6)
    lin(x).square().sum().backward()
    ref(x).square().sum().backward()
    assert lin.weight.grad.stride() == lin.weight.stride()
    torch.testing.assert_close(lin.weight.grad, ref.weight.grad)
    opt = torch.optim.AdamW(lin.parameters(), lr=0.1)
    opt.step()
    assert is_input_major(lin.weight)
    assert is_input_major(lin.double().weight)


def test_concat_rows_keeps_the_order_of_its_parts():
    torch.manual_seed(0)
    parts = [torch.randn(3, 5), torch.randn(2, 5)]
    plain = concat_rows(parts)
    assert plain.is_contiguous() and torch.equal(plain, torch.cat(parts))
    im = [p.t().contiguous().t() for p in parts]
    fused = concat_rows(im)
    assert is_input_major(fused) and torch.equal(fused, torch.cat(parts))
    mixed = concat_rows([im[0], parts[1]])  # mixed orders fall back to a plain cat
    assert torch.equal(mixed, torch.cat(parts))


def test_fused_qkv_of_input_major_attention_is_input_major_and_exact():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 4).eval()
    x = torch.randn(2, 5, 16)
    want, _ = attn(x)
    store_input_major(attn)
    with torch.no_grad():
        got, _ = attn(x)
    assert is_input_major(attn._fused[0])
    torch.testing.assert_close(got, want.detach())
