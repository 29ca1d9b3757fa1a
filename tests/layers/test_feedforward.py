"""FeedForward (plain and GLU) and the activation table."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kexue.layers import FeedForward, get_activation


def test_gated_feedforward_formula():
    ff = FeedForward(8, 12, "gelu_new", bias=False, gated=True)
    x = torch.randn(2, 3, 8)
    h = F.gelu(x @ ff.fc1.weight.T, approximate="tanh") * (x @ ff.gate.weight.T)
    torch.testing.assert_close(ff(x), h @ ff.fc2.weight.T)


def test_plain_feedforward_formula():
    ff = FeedForward(8, 12, "relu")
    x = torch.randn(4, 8)
    torch.testing.assert_close(ff(x), ff.fc2(torch.relu(ff.fc1(x))))


def test_unknown_activation_raises():
    with pytest.raises(ValueError, match="unknown activation 'mish'"):
        get_activation("mish")
    assert get_activation("gelu") is F.gelu
