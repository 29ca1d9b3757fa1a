"""A tiny, deterministic training problem shared by the training tests and their child
processes (SIGKILL resume, full disk, torchrun)."""

from __future__ import annotations

import sys
from typing import Any

import torch
from torch import nn

from kexue.optim import extend_with_exponential_moving_average
from kexue.train import Callback, Evaluator, PiecewiseLinearLR, fit

AdamEMA = extend_with_exponential_moving_average(torch.optim.Adam)


def tiny_data(n: int = 64, dim: int = 6, seed: int = 1, dtype=torch.float32) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g, dtype=dtype)
    w = torch.randn(dim, generator=g, dtype=dtype)
    y = (x @ w > 0).long()
    return [{"x": x[i], "labels": int(y[i])} for i in range(n)]


def tiny_model(dim: int = 6, hidden: int = 16, dropout: float = 0.1, dtype=torch.float32
               ) -> nn.Module:
    return nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Dropout(dropout),
                         nn.Linear(hidden, 2)).to(dtype)


def loss_fn(model: nn.Module, batch: dict) -> torch.Tensor:
    return nn.functional.cross_entropy(model(batch["x"]), batch["labels"])


def accuracy(model: nn.Module, data: list[dict]) -> float:
    x = torch.stack([d["x"] for d in data])
    y = torch.tensor([d["labels"] for d in data])
    return (model(x).argmax(-1) == y).float().mean().item()


class Announce(Callback):
    """Announce ``step N`` after every optimizer step (a kill point): printed, or passed to
    ``send``."""

    def __init__(self, send: Any = None) -> None:
        self.send = send

    def on_batch_end(self, trainer: Any, step: int, logs: dict) -> None:
        if self.send is None:
            print(f"step {trainer.step}", flush=True)
        else:
            self.send(f"step {trainer.step}")


def run_tiny(ckpt_dir: str | None, *, steps: int = 20, checkpoint_every: int = 3,
             announce: Any = False, resume: bool = True, extra_callbacks: tuple = (),
             **kwargs: Any):
    """Train the tiny problem for ``steps`` steps (2.5 epochs of 8 batches), EMA optimizer,
    dropout, piecewise LR and a per-epoch evaluator; resumable in ``ckpt_dir``."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = tiny_data()
    model = tiny_model()
    opt = AdamEMA(model.parameters(), lr=1e-2, ema_momentum=0.9)
    callbacks = [Evaluator(lambda m: accuracy(m, data), monitor="acc"),
                 PiecewiseLinearLR({4: 1.0, 20: 0.2})]
    callbacks += list(extra_callbacks)
    if announce:
        callbacks.append(Announce(None if announce is True else announce))
    return fit(model, loss_fn, data, optimizer=opt, batch_size=8, steps=steps,
               callbacks=callbacks, checkpoint_dir=ckpt_dir,
               checkpoint_every=checkpoint_every if ckpt_dir else None,
               resume=resume and ckpt_dir is not None, progress=False, log_every=4, **kwargs)


if __name__ == "__main__":  # python tests/train/_tiny.py CKPT_DIR
    run_tiny(sys.argv[1], announce=True)
    print("done", flush=True)
