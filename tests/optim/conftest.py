"""Small problems shared by the optimizer tests (fixtures)."""

from __future__ import annotations

import pytest
import torch


class TwoParams(torch.nn.Module):
    """Two scalar parameters, ``weight`` and ``bias``: the two-parameter problem."""

    def __init__(self, weight: float = 1.0, bias: float = -2.0, dtype=torch.float64) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(weight, dtype=dtype))
        self.bias = torch.nn.Parameter(torch.tensor(bias, dtype=dtype))

    def values(self) -> torch.Tensor:
        return torch.stack([self.weight.detach(), self.bias.detach()])

    def set_grads(self, gw: float, gb: float) -> None:
        self.weight.grad = torch.tensor(gw, dtype=self.weight.dtype)
        self.bias.grad = torch.tensor(gb, dtype=self.bias.dtype)


@pytest.fixture
def two_params():
    """Factory of :class:`TwoParams`."""
    return TwoParams
