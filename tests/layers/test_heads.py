"""vocab_logits: the batched block product equals F.linear on every path."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kexue.layers import vocab_logits


@pytest.mark.parametrize("vocab", [4096, 5003])  # divisible by the 4 blocks, and a leftover of 3
@pytest.mark.parametrize("shape", [(1, 1), (4,), (2, 2), (1, 3), (5,), (2, 7)])
def test_vocab_logits_equals_linear(vocab, shape):
    torch.manual_seed(0)
    weight = torch.randn(vocab, 32, dtype=torch.float64)
    bias = torch.randn(vocab, dtype=torch.float64)
    x = torch.randn(*shape, 32, dtype=torch.float64)
    for b in (None, bias):
        got = vocab_logits(x, weight, b)
        assert got.shape == (*shape, vocab)
        torch.testing.assert_close(got, F.linear(x, weight, b), rtol=1e-12, atol=1e-12)


def test_vocab_logits_gradients_match_linear():
    torch.manual_seed(0)
    w1 = torch.randn(4100, 16, dtype=torch.float64, requires_grad=True)
    w2 = w1.detach().clone().requires_grad_()
    x = torch.randn(1, 2, 16, dtype=torch.float64)
    vocab_logits(x, w1).square().sum().backward()
    F.linear(x, w2).square().sum().backward()
    torch.testing.assert_close(w1.grad, w2.grad)


def test_vocab_logits_keeps_shape_errors_of_linear():
    with pytest.raises(RuntimeError):
        vocab_logits(torch.randn(1, 8), torch.randn(5000, 9))
