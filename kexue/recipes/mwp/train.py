"""Fine-tune the UniLM solver with :func:`kexue.train.fit` (kexue.fm/archives/7809).

The article: Adam, lr 2e-5, batch 32, ~25 epochs of 200k problems on a GPU. Here the data is
~10k problems (Ape210K validation minus the held-out 1,000, plus Math23K) and the model is the
shipped 4-layer ``kexue-mini-zh``, so the defaults are a larger lr (3e-4, linear warm-up and
decay) for fewer steps. After every epoch the solver is scored on the dev slice (greedy
decoding, the article's 6-decimal equality) and written to ``OUT/last``; the best one so far
to ``OUT/best``. The run checkpoints to ``OUT/checkpoints`` every ``checkpoint_every`` steps
(``OUT/last`` is refreshed with each checkpoint) and at every epoch end, and the same call
resumes it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from kexue.recipes.mwp.data import Problem
from kexue.recipes.mwp.model import Solver, save_solver

__all__ = ["TrainOptions", "train_solver", "accuracy"]


@dataclass
class TrainOptions:
    """Training settings (see the module docstring)."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 3e-4
    warmup: int = 100
    seed: int = 0
    checkpoint_every: int = 25
    dev_batch_size: int = 100


def accuracy(solver: Solver, problems: Sequence[Problem], **solve_kw: Any) -> float:
    """Share of ``problems`` whose decoded expression equals the answer (6 decimals)."""
    from kexue.recipes.mwp.expression import is_equal

    if not problems:
        return 0.0
    preds = solver.solve([p.question for p in problems], **solve_kw)
    return sum(is_equal(e, p.answer) for e, p in zip(preds, problems, strict=True)) / len(
        problems)


class _SelectOnDev:
    """Score on dev after every epoch, save ``last`` and (when better) ``best``."""

    def __init__(self, solver: Solver, dev: Sequence[Problem], out: Path, batch_size: int,
                 log: Callable[[str], None]) -> None:
        self.solver, self.dev, self.out, self.log = solver, dev, out, log
        self.batch_size = batch_size
        self.best = -1.0

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        acc = accuracy(self.solver, self.dev, batch_size=self.batch_size) if self.dev else 0.0
        logs["dev_accuracy"] = acc
        save_solver(self.solver, self.out / "last")
        if acc > self.best:
            self.best = acc
            save_solver(self.solver, self.out / "best")
        self.log(f"epoch {epoch + 1}: step {trainer.step}, dev accuracy {acc:.4f} "
                 f"(best {self.best:.4f})")

    def on_checkpoint(self, trainer, path: str) -> None:  # a usable solver between epochs
        save_solver(self.solver, self.out / "last")

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = float(state["best"])


def train_solver(solver: Solver, train: Sequence[Problem], dev: Sequence[Problem],
                 out: str | os.PathLike, options: TrainOptions | None = None, *,
                 resume: bool = True, progress: bool = False,
                 log: Callable[[str], None] = print) -> Any:
    """Train ``solver`` in place on ``train``; writes ``OUT/{checkpoints,last,best}``.
    Returns fit's :class:`~kexue.train.loop.Trainer`."""
    from kexue.data import PadCollate
    from kexue.train import fit
    from kexue.train.seq2seq import IGNORE_INDEX, UniLMSeq2Seq

    opts = options or TrainOptions()
    if not train:
        raise ValueError("no training problems")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    examples = [solver.example(p.question, p.equation) for p in train]
    steps_per_epoch = -(-len(examples) // opts.batch_size)
    total = steps_per_epoch * opts.epochs
    warmup = min(opts.warmup, max(1, total // 10))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    torch.manual_seed(opts.seed)
    wrapped = UniLMSeq2Seq(solver.model)
    optimizer = torch.optim.Adam(wrapped.parameters(), lr=opts.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    return fit(wrapped, lambda m, batch: m(**batch), examples, optimizer=optimizer,
               scheduler=scheduler, collate_fn=PadCollate({"labels": IGNORE_INDEX}),
               batch_size=opts.batch_size, epochs=opts.epochs, seed=opts.seed,
               lengths=[len(e["token_ids"]) for e in examples],
               callbacks=[_SelectOnDev(solver, dev, out, opts.dev_batch_size, log)],
               checkpoint_dir=out / "checkpoints", checkpoint_every=opts.checkpoint_every,
               resume=resume, progress=progress, log_every=20)
