"""Shared fixtures. Real evaluation data lives in ``../shared/data`` beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_data_path(*parts: str) -> Path:
    """Path to a file under ``../shared/data``; skips the calling test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found: {path} (shared/data is absent beside this checkout)")
    return path


@pytest.fixture
def shared_data():
    """The ``shared_data_path`` helper as a fixture: ``shared_data("sentiment", "x.data")``."""
    return shared_data_path


@pytest.fixture(autouse=True)
def _seed_and_threads():
    """Every test starts from seed 0 on one intra-op thread.

    The tests use tiny tensors and run two per machine under pytest-xdist (``-n 2``); torch's
    intra-op threads then only oversubscribe the two cores (measured by several areas: tiny
    forwards and backwards 10-30x slower on 2 threads under load than on 1).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
