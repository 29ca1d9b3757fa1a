"""KVCache: append/grow, reorder, bookkeeping and errors."""

from __future__ import annotations

import pytest
import torch

from kexue.models import KVCache


def test_append_grows_and_returns_everything():
    cache = KVCache(2)
    ks = [torch.randn(2, 3, n, 4) for n in (5, 1, 20, 1)]
    for k in ks:
        out_k, out_v = cache.append(0, k, -k)
        cache.append(1, k, k)
    full = torch.cat(ks, dim=2)
    assert cache.length == 27
    torch.testing.assert_close(out_k, full)
    torch.testing.assert_close(out_v, -full)
    torch.testing.assert_close(cache.keys(1), full)


def test_reorder_selects_rows_everywhere():
    cache = KVCache(1)
    k = torch.arange(3.0).view(3, 1, 1, 1).expand(3, 2, 4, 5).contiguous()
    cache.append(0, k, k)
    cache.set_cross(0, k, k + 1)
    cache.state["unilm_index"] = torch.arange(3).view(3, 1)
    cache.reorder(torch.tensor([2, 2, 0, 1]))
    assert cache.keys(0)[:, 0, 0, 0].tolist() == [2.0, 2.0, 0.0, 1.0]
    assert cache.cross[0][1][:, 0, 0, 0].tolist() == [3.0, 3.0, 1.0, 2.0]
    assert cache.state["unilm_index"].view(-1).tolist() == [2, 2, 0, 1]
    assert cache.batch_size == 4
    cache.append(0, torch.zeros(4, 2, 1, 5), torch.zeros(4, 2, 1, 5))
    assert cache.length == 5
    assert cache.keys(0)[:, 0, :4, 0].tolist() == [[2.0] * 4, [2.0] * 4, [0.0] * 4, [1.0] * 4]


def test_reorder_keeps_capacity_so_the_next_step_writes_in_place():
    cache = KVCache(1)
    cache.append(0, torch.randn(3, 2, 5, 4), torch.randn(3, 2, 5, 4))
    capacity = cache._keys[0].shape[2]
    assert capacity > 5
    for _ in range(3):
        before = cache.keys(0).clone()
        cache.reorder(torch.tensor([1, 1, 0]))
        buf = cache._keys[0]
        assert buf.shape[2] == capacity
        torch.testing.assert_close(cache.keys(0), before[[1, 1, 0]])
        new = torch.randn(3, 2, 1, 4)
        cache.append(0, new, new)
        assert cache._keys[0] is buf  # appended in place, no regrowth
        torch.testing.assert_close(cache.keys(0)[:, :, -1:], new)


def test_errors_and_autograd():
    with pytest.raises(ValueError, match="num_layers"):
        KVCache(0)
    cache = KVCache(1)
    cache.append(0, torch.randn(2, 1, 3, 4), torch.randn(2, 1, 3, 4))
    with pytest.raises(ValueError, match="batch 2"):
        cache.append(0, torch.randn(3, 1, 1, 4), torch.randn(3, 1, 1, 4))
    grad = KVCache(1)
    a = torch.randn(1, 1, 2, 4, requires_grad=True)
    grad.append(0, a, a)
    k, _ = grad.append(0, a * 2, a * 2)
    k.sum().backward()
    assert a.grad is not None and float(a.grad.sum()) == pytest.approx(3 * 8)
