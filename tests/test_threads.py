"""``kexue.threads``: the one default thread rule, min(4, usable CPUs // processes)."""

from __future__ import annotations

import pytest
import torch

from kexue import threads


@pytest.mark.parametrize("cpus, processes, expected", [
    (1, 1, 1), (2, 1, 2), (16, 1, 4), (64, 1, 4), (8, 4, 2), (2, 4, 1), (6, 2, 3),
])
def test_default_rule(monkeypatch, cpus, processes, expected):
    monkeypatch.setattr(threads, "usable_cpus", lambda: cpus)
    assert threads.default_threads(processes) == expected


def test_set_threads_and_bad_values(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setattr(threads, "usable_cpus", lambda: 1)
        assert threads.set_threads() == 1 == torch.get_num_threads()
        assert threads.set_threads(0) == 1
        with pytest.raises(ValueError, match="threads must be"):
            threads.set_threads(-1)
        with pytest.raises(ValueError, match="processes"):
            threads.default_threads(0)
    finally:
        torch.set_num_threads(before)


def test_usable_cpus_respects_the_affinity_mask():
    import os

    assert threads.usable_cpus() == len(os.sched_getaffinity(0))
