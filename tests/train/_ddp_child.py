"""torchrun child of tests/train/test_distributed.py: the tiny problem in float64 with
DistributedDataParallel (gloo). Writes the final weights and history (rank 0)."""

from __future__ import annotations

import sys

import torch

from kexue.io.atomic import atomic_write
from kexue.train import Evaluator, distributed, fit
from tests.train._tiny import loss_fn, tiny_data, tiny_model


def train(batch_size: int, ckpt_dir: str | None):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = tiny_data(48, dtype=torch.float64)
    model = tiny_model(dropout=0.0, dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)

    def evaluate(m):
        part = distributed.shard(data[:45])  # 45 examples: the shards differ in size
        x = torch.stack([d["x"] for d in part])
        y = torch.tensor([d["labels"] for d in part])
        correct = int((m(x).argmax(-1) == y).sum())
        return {"acc": distributed.reduce_mean(correct / len(part), len(part)),
                "n": distributed.all_reduce_sum(len(part))}

    return fit(model, loss_fn, data, optimizer=opt, batch_size=batch_size, epochs=3,
               callbacks=[Evaluator(evaluate, monitor="acc")], checkpoint_dir=ckpt_dir,
               progress=False, log_every=2, seed=5)


if __name__ == "__main__":
    out, ckpt = sys.argv[1], sys.argv[2]
    tr = train(4, ckpt)
    assert tr.world_size == 2
    if tr.is_main:
        with atomic_write(out, "wb") as f:
            torch.save({"model": tr.model.state_dict(), "history": tr.history}, f)
    # tear the process group down before the interpreter does: gloo's destructor running at
    # exit can abort one rank ("terminate called without an active exception")
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
