"""torchrun --nproc_per_node=2 (gloo, CPU) equals one process with the doubled batch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from kexue.data import LengthBucketSampler, ShuffledBatchSampler
from tests.faults import _child_env
from tests.train._ddp_child import train

CHILD = str(Path(__file__).with_name("_ddp_child.py"))


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                    reason="torch.distributed with gloo is not available in this build")
def test_torchrun_two_ranks_equal_one_process_with_doubled_batch(tmp_path):
    out = tmp_path / "ddp.pt"
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         CHILD, str(out), str(tmp_path / "ckpt")],
        capture_output=True, text=True, env=_child_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = torch.load(out, weights_only=True)
    single = train(8, None)
    for k, v in single.model.state_dict().items():
        torch.testing.assert_close(got["model"][k], v, rtol=1e-10, atol=1e-12, msg=k)
    want_loss = [r["loss"] for r in single.history if "loss" in r]
    got_loss = [r["loss"] for r in got["history"] if "loss" in r]
    assert len(got_loss) == len(want_loss) == 18
    torch.testing.assert_close(torch.tensor(got_loss), torch.tensor(want_loss), rtol=1e-10,
                               atol=1e-12)
    # metrics reduced over the ranks equal the single-process metric
    want_acc = [r["acc"] for r in single.history if "acc" in r]
    got_acc = [r["acc"] for r in got["history"] if "acc" in r]
    assert got_acc == pytest.approx(want_acc, abs=1e-12)
    assert [r["n"] for r in got["history"] if "n" in r] == [45.0] * 3
    # only rank 0 wrote: one log, the checkpoints hold both ranks' RNG states
    names = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert names == ["ckpt-000000012.kexue", "ckpt-000000018.kexue", "log.csv"]
    from kexue.train import load_checkpoint
    assert len(load_checkpoint(tmp_path / "ckpt" / names[1])["rng"]) == 2


@pytest.mark.parametrize("cls", [ShuffledBatchSampler, LengthBucketSampler])
def test_rank_batches_partition_the_global_batches(cls):
    args = (list(range(50)),) if cls is LengthBucketSampler else (50,)
    kw = {"window": 2} if cls is LengthBucketSampler else {}
    one = cls(*args, 6, seed=4, **kw).batches(1)
    ranks = [cls(*args, 3, seed=4, num_replicas=2, rank=r, **kw).batches(1) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == len(one) == 9
    for g, a, b in zip(one, *ranks):
        assert a + b == g
    assert sorted(sum(one, [])) == list(range(50))
