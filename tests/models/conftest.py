"""Tiny models run fastest on one thread: with OpenMP on a busy shared machine every small op
waits for its sibling threads (measured: a 4-layer, 32-wide BERT forward took 130 ms on 2
threads at load 9, 4 ms on 1)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
