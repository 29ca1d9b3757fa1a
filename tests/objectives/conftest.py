"""Objectives tests run their small tensors single-threaded: on a loaded 2-core machine (and
under pytest-xdist) torch's intra-op threads oversubscribe the CPU and make tiny ops ~10x
slower. The previous setting is restored after each test."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
