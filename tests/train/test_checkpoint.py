"""The resumable checkpoint format: RNG round trip, full disk while saving, stale temps."""

from __future__ import annotations

import random

import numpy as np
import torch

from kexue.train.checkpoint import (
    get_rng_state,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from tests.faults import run_with_full_disk

CHILD = """
from tests.train._tiny import run_tiny
run_tiny("{mnt}/run", steps=20, checkpoint_every=3)
"""


def test_rng_state_round_trip(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    random.random(), np.random.rand(), torch.rand(1)
    state = get_rng_state()
    save_checkpoint(tmp_path / "c.kexue", {"model": {}, "step": 0, "rng": state})
    want = (random.random(), np.random.rand(), np.random.randn(), torch.rand(3))
    set_rng_state(load_checkpoint(tmp_path / "c.kexue")["rng"])
    got = (random.random(), np.random.rand(), np.random.randn(), torch.rand(3))
    assert got[:3] == want[:3] and torch.equal(got[3], want[3])


def test_full_disk_while_saving_keeps_the_previous_checkpoints(tmp_path):
    res = run_with_full_disk(CHILD.replace("{mnt}", "{mnt}"), size="64k", timeout=300)
    assert res.returncode != 0
    assert "no space left on device" in res.stderr.lower()
    assert "ckpt-" in res.stderr  # the message names the checkpoint being written
    ckpts = sorted(p for p in res.listing if p.endswith(".kexue"))
    assert ckpts, res.listing
    assert not [p for p in res.listing if p.endswith(".kexue-tmp")]  # no half-written file
    for name in ckpts:  # everything left loads
        (tmp_path / name.split("/")[-1]).write_bytes(res.contents[name])
        state = load_checkpoint(tmp_path / name.split("/")[-1])
        assert state["step"] == int(name[-15:-6])
