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


@pytest.fixture(autouse=True)
def _one_thread():
    """The optimizer tests use tiny tensors: intra-op threads only add contention (on a shared
    2-core machine a 2-thread backward of a toy model was measured 25x slower than 1 thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
