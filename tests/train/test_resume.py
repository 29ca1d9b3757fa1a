"""Exact resume after a real SIGKILL, and refusal of truncated checkpoints."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest
import torch

from kexue.train import CheckpointError, latest_checkpoint, load_checkpoint
from kexue.train.checkpoint import list_checkpoints
from tests.train._killable import context, kill_at
from tests.train._tiny import run_tiny


def _final(ckpt_dir: Path) -> dict:
    step, path = list_checkpoints(ckpt_dir)[-1]
    assert step == 20
    return load_checkpoint(path)


def test_sigkill_resume_is_bit_identical(tmp_path):
    straight = tmp_path / "straight"
    run_tiny(str(straight))
    want = _final(straight)

    # kill points: two random steps (seeded, reported on failure) and mid-way through a save;
    # each a real SIGKILL of a separate (forked) process, then the resume runs here
    rng = random.Random(11)
    k1, k2 = rng.randint(1, 8), rng.randint(10, 19)
    run = tmp_path / "killed"
    ctx = context()
    assert kill_at(ctx, str(run), f"step {k1}") == -9
    assert kill_at(ctx, str(run), "midsave", midsave_of=9) == -9
    assert any(p.name.endswith(".kexue-tmp") for p in run.iterdir())  # a half-written temp
    assert kill_at(ctx, str(run), f"step {k2}") == -9
    assert 0 < latest_checkpoint(run)[1]["step"] < 20
    run_tiny(str(run))
    got = _final(run)

    info = f"kill points: step {k1}, mid-save of step 9, step {k2}"
    assert got["model"].keys() == want["model"].keys()
    for k in want["model"]:
        assert torch.equal(got["model"][k], want["model"][k]), f"{k} differs ({info})"
    # the EMA averages and Adam moments too
    for i, s in want["optimizer"]["extension_state"].items():
        assert torch.equal(got["optimizer"]["extension_state"][i]["ema_weight"], s["ema_weight"])
    losses = [(r["step"], r["loss"]) for r in want["history"] if "loss" in r]
    assert [(r["step"], r["loss"]) for r in got["history"] if "loss" in r] == losses, info
    assert len(losses) == 20
    assert got["history"] == want["history"]
    assert (run / "log.csv").read_text() == (straight / "log.csv").read_text()
    assert not [p for p in run.iterdir() if p.name.endswith(".kexue-tmp")]


def test_truncated_checkpoint_is_refused_and_previous_used(tmp_path):
    run_tiny(str(tmp_path), steps=6, checkpoint_every=3)
    ckpts = list_checkpoints(tmp_path)
    assert [s for s, _ in ckpts] == [3, 6]
    newest = ckpts[-1][1]
    data = newest.read_bytes()
    cuts = sorted({0, 1, 10, len(data) // 3, len(data) // 2, len(data) - 43, len(data) - 1,
                   *random.Random(0).sample(range(len(data)), 20)})
    for cut in cuts:
        newest.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated|not a kexue checkpoint|damaged"):
            load_checkpoint(newest)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            path, state = latest_checkpoint(tmp_path)
        assert path == ckpts[0][1] and state["step"] == 3
        assert any(str(newest) in str(x.message) for x in w)
    # a flipped byte in the payload is caught by the digest
    bad = bytearray(data)
    bad[len(data) // 2] ^= 0xFF
    newest.write_bytes(bytes(bad))
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(newest)
    # resuming uses the previous checkpoint and continues to the same result
    newest.write_bytes(data[: len(data) // 2])
    with pytest.warns(RuntimeWarning, match="truncated"):
        tr = run_tiny(str(tmp_path), steps=6, checkpoint_every=3)
    assert tr.step == 6
    ref = run_tiny(None, steps=6)
    for k, v in ref.model.state_dict().items():
        assert torch.equal(tr.model.state_dict()[k], v)
    # every checkpoint damaged: a clear error listing each
    for _, p in list_checkpoints(tmp_path):
        p.write_bytes(b"KEXUE")
    with pytest.raises(CheckpointError, match="no usable checkpoint"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_tiny(str(tmp_path), steps=6)
