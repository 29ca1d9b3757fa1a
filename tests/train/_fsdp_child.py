"""torchrun child of tests/train/test_fsdp.py: the tiny float64 problem with Adam + EMA,
clipping and two accumulated micro-batches of 2 examples per rank a step, sharded with FSDP2
over two gloo ranks. One launch runs every case (a torchrun start costs more than all the
training here):

- ``straight``: 8 steps under FSDP (Evaluator with EMA weights, ModelCheckpoint);
- ``fsdp``: the same run stopped by an error at step 5, then resumed under FSDP;
- ``ddp_from_fsdp``: a copy of that stopped run's checkpoints resumed under DDP;
- ``fsdp_from_single``: a one-process run stopped at step 5 (written by the test before the
  launch), resumed under FSDP.

Rank 0 writes ``OUT/<case>.pt`` (final full state, history, the Evaluator's best weights) and
leaves a copy of the stopped FSDP run's checkpoints in ``OUT/stopped_fsdp`` for the test to
resume in one process."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kexue.io.atomic import atomic_write, write_text
from kexue.train import Callback, Evaluator, ModelCheckpoint, distributed, fit, fsdp
from tests.train._tiny import AdamEMA, loss_fn, tiny_data, tiny_model


class Stop(RuntimeError):
    pass


class Began(Callback):
    """Remembers the step a run began at (0, or the resumed checkpoint's)."""

    began_at: int | None = None

    def on_train_begin(self, trainer: Any) -> None:
        self.began_at = trainer.step


class StopAt(Callback):
    """Raise :class:`Stop` after optimizer step ``at`` (an interrupted run)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_batch_end(self, trainer: Any, step: int, logs: dict) -> None:
        if trainer.step == self.at:
            raise Stop(f"stopped at step {self.at}")


STEPS = 8  # 6 steps an epoch (48 examples, 8 a step): the runs cross an epoch end
STOP = 5  # the stopped runs resume from their step-4 checkpoint


def train(batch_size: int, ckpt_dir: str | None, *, grad_accum: int = 2, strategy: str = "fsdp",
          stop_at: int = 0, weights_dir: str | None = None):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = tiny_data(48, dtype=torch.float64)
    model = tiny_model(hidden=15, dropout=0.0, dtype=torch.float64)  # 15 rows: 8 + 7

    def evaluate(m):
        part = distributed.shard(data[:45])  # one forward per rank (FSDP: a collective)
        x = torch.stack([d["x"] for d in part])
        y = torch.tensor([d["labels"] for d in part])
        correct = int((m(x).argmax(-1) == y).sum())
        return {"acc": distributed.reduce_mean(correct / len(part), len(part)),
                "nll": distributed.reduce_mean(
                    float(nn.functional.cross_entropy(m(x), y)), len(part))}

    callbacks: list[Any] = [Evaluator(evaluate, monitor="nll", mode="min"), Began()]
    if weights_dir is not None:
        callbacks.append(ModelCheckpoint(weights_dir, monitor="nll", mode="min"))
    if stop_at:
        callbacks.append(StopAt(stop_at))
    kwargs: dict[str, Any] = {}
    if strategy == "fsdp":  # the first Linear is a unit, the root holds the second one
        kwargs["fsdp_units"] = lambda m: m is model[0]
    return fit(model, loss_fn, data,
               optimizer=lambda m: AdamEMA(m.parameters(), lr=0.05, ema_momentum=0.8),
               batch_size=batch_size, grad_accum=grad_accum, steps=STEPS, clip_grad_norm=0.5,
               checkpoint_dir=ckpt_dir,
               checkpoint_every=4 if ckpt_dir else None, resume=ckpt_dir is not None,
               progress=False, log_every=2, seed=5, strategy=strategy, callbacks=callbacks,
               **kwargs)


def record(tr, path: Path) -> None:
    state = tr.state_dict(keep=tr.is_main)  # under FSDP a collective: every rank calls it
    if tr.is_main:
        state["best_weights"] = tr.callbacks.callbacks[0].best_weights
        state["began_at"] = tr.callbacks.callbacks[1].began_at
        with atomic_write(path, "wb") as f:
            torch.save(state, f)


def stopped(ckpt: Path, batch_size: int, strategy: str) -> None:
    try:
        train(batch_size, str(ckpt), strategy=strategy, stop_at=STOP)
    except Stop:
        pass
    else:
        raise AssertionError("the run did not stop")


if __name__ == "__main__":  # OUT holds stopped_single/, a stopped one-process run
    out = Path(sys.argv[1])
    tr = train(2, str(out / "ckpt_straight"), weights_dir=str(out / "weights"))
    assert tr.world_size == 2 and tr.strategy == "fsdp"
    record(tr, out / "straight.pt")
    # an optimizer state of another shape than its sharded parameter is refused
    try:
        fsdp.shard_optimizer_state(tr.optimizer, {"state": {0: {"exp_avg": torch.zeros(3)}}})
    except ValueError as e:
        refused = str(e)
    else:
        refused = ""
    # an eval_fn whose metric differs between the ranks: a clear error on every rank, not a
    # hang in the gathers of the best weights that only some ranks would start
    model = tiny_model(dropout=0.0, dtype=torch.float64)
    try:
        fit(model, loss_fn, tiny_data(8, dtype=torch.float64),
            optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.1), batch_size=2, steps=1,
            callbacks=[Evaluator(lambda m: float(tr.rank), every_steps=1)], strategy="fsdp",
            progress=False)
    except ValueError as e:
        refused += "\n" + str(e)
    if tr.is_main:
        write_text(out / "refused.txt", refused)

    stopped(out / "ckpt_fsdp", 2, "fsdp")
    if tr.is_main:
        for name in ("ckpt_ddp_from_fsdp", "stopped_fsdp"):
            shutil.copytree(out / "ckpt_fsdp", out / name)
    distributed.barrier()
    record(train(2, str(out / "ckpt_fsdp")), out / "fsdp.pt")
    record(train(2, str(out / "ckpt_ddp_from_fsdp"), strategy="ddp"), out / "ddp_from_fsdp.pt")
    record(train(2, str(out / "stopped_single")), out / "fsdp_from_single.pt")
