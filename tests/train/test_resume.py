"""Exact resume after a real SIGKILL, and refusal of truncated checkpoints."""

from __future__ import annotations

import random
import sys
import warnings
from pathlib import Path

import pytest
import torch

from kexue.train import CheckpointError, latest_checkpoint, load_checkpoint
from kexue.train.checkpoint import list_checkpoints
from tests.faults import sigkill_when
from tests.train._tiny import run_tiny

CHILD = [sys.executable, str(Path(__file__).with_name("_tiny.py"))]

# Kill while the checkpoint of step 9 is half written: its temp file has bytes, no rename.
MIDSAVE = r"""
import sys, time
import kexue.train.checkpoint as ck
real = ck._HashingWriter.write
def save(path, state, _real=ck.save_checkpoint):
    if str(path).endswith("ckpt-000000009.kexue"):
        def write(self, b):
            n = real(self, b)
            if self.n > 4000 and not getattr(self, "told", False):
                self.told = True
                self.f.flush()
                print("midsave", flush=True)
                time.sleep(60)
            return n
        ck._HashingWriter.write = write
    try:
        _real(path, state)
    finally:
        ck._HashingWriter.write = real
import kexue.train.loop as loop
loop.save_checkpoint = save
sys.argv = ["x", sys.argv[1]]
from tests.train._tiny import run_tiny
run_tiny(sys.argv[1], announce=True)
print("done", flush=True)
"""


def _final(ckpt_dir: Path) -> dict:
    step, path = list_checkpoints(ckpt_dir)[-1]
    assert step == 20
    return load_checkpoint(path)


def test_sigkill_resume_is_bit_identical(tmp_path):
    straight = tmp_path / "straight"
    run_tiny(str(straight))
    want = _final(straight)

    # kill points: two random steps (seeded, reported on failure) and mid-way through a save
    rng = random.Random(11)
    k1, k2 = rng.randint(1, 8), rng.randint(10, 19)
    run = tmp_path / "killed"
    r = sigkill_when([*CHILD, str(run)], f"step {k1}")
    assert r.returncode == -9
    r = sigkill_when([sys.executable, "-c", MIDSAVE, str(run)], "midsave")
    assert r.returncode == -9, r.stderr
    assert any(p.name.endswith(".kexue-tmp") for p in run.iterdir())  # a half-written temp
    r = sigkill_when([*CHILD, str(run)], f"step {k2}")
    assert r.returncode == -9
    import subprocess

    from tests.faults import _child_env
    done = subprocess.run([*CHILD, str(run)], capture_output=True, text=True, env=_child_env(),
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("done")
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
