"""``Evaluator`` (any Python metric, keeps the best weights) and ``EarlyStopping``.

kexue.fm/archives/5765, callback 1: compute a metric that is not a tensor op (accuracy, F1,
BLEU...) at the end of each epoch and keep the weights of the best epoch. With an EMA
optimizer the evaluation, the choice of the best and the kept weights all use the EMA
weights (bert4keras practice); training continues from the raw weights.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import torch

from kexue.train import distributed
from kexue.train.callbacks import Callback
from kexue.train.weights import _better, save_weights

__all__ = ["EarlyStopping", "Evaluator"]


class Evaluator(Callback):
    """Run ``eval_fn(model)`` every epoch (or every ``every_steps`` optimizer steps) and keep
    the best weights.

    ``eval_fn`` gets the plain model in eval mode under ``torch.no_grad()`` (EMA weights
    swapped in if any) and returns a number or a ``{name: number}`` dict; a bare number is
    named ``monitor``. The metrics go into the epoch (or step) logs, so later callbacks
    (``ModelCheckpoint``, ``EarlyStopping``) see them, and into ``trainer.history``.

    Under torchrun ``eval_fn`` runs on every rank: evaluate ``kexue.train.distributed.shard``
    of the data and combine with ``reduce_mean`` / ``all_reduce_sum`` so that every rank
    returns the metric of the whole set. Under ``strategy="fsdp"`` every forward call is a
    collective: ``eval_fn`` must make the same number of them on every rank (e.g. one batch
    per shard, or shards padded to equal sizes).

    Args:
        eval_fn: ``model -> float | dict``.
        monitor: the metric that decides "best" (default: the only one returned).
        mode: ``"max"`` or ``"min"``.
        every_steps: evaluate every N optimizer steps instead of every epoch.
        keep_best: keep a CPU copy of the best weights in ``best_weights`` (saved in resumable
            checkpoints too).
        save_best: also write the best weights to this safetensors file (rank 0).
        restore_best: load the best weights into the model when training ends.

    Attributes: ``best`` (value), ``best_step``, ``best_epoch``, ``best_weights``.
    """

    def __init__(self, eval_fn: Callable[[torch.nn.Module], Any], *, monitor: str | None = None,
                 mode: str = "max", every_steps: int | None = None, keep_best: bool = True,
                 save_best: str | os.PathLike | None = None, restore_best: bool = False) -> None:
        if not callable(eval_fn):
            raise TypeError("Evaluator needs a function model -> metric(s)")
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        if every_steps is not None and (isinstance(every_steps, bool) or not isinstance(
                every_steps, int) or every_steps < 1):
            raise ValueError(f"every_steps must be an int >= 1, got {every_steps!r}")
        if restore_best and not keep_best:
            raise ValueError("restore_best needs keep_best=True")
        self.eval_fn, self.monitor, self.mode = eval_fn, monitor, mode
        self.every_steps, self.keep_best = every_steps, keep_best
        self.save_best, self.restore_best = save_best, restore_best
        self.best: float | None = None
        self.best_step: int | None = None
        self.best_epoch: int | None = None
        self.best_weights: dict[str, torch.Tensor] | None = None

    def evaluate(self, trainer: Any) -> dict[str, float]:
        """Evaluate now; returns the metrics (and updates the best)."""
        model = trainer.model
        was_training = model.training
        model.eval()
        try:
            with trainer.eval_weights(), torch.no_grad():
                result = self.eval_fn(model)
                metrics = self._metrics(result)
                _check_same_on_every_rank(metrics)
                key = self._key(metrics)
                improved = _better(self.mode, metrics[key], self.best)
                if improved:
                    self.best = metrics[key]
                    self.best_step, self.best_epoch = trainer.step, trainer.epoch
                    write = self.save_best is not None and trainer.is_main
                    if self.keep_best or self.save_best is not None:
                        # full CPU tensors (under FSDP: gathered, every rank takes part)
                        weights = trainer.full_model_state(keep=self.keep_best or write)
                        if self.keep_best:
                            self.best_weights = weights
                        if write:
                            save_weights(self.save_best, weights)
        finally:
            model.train(was_training)
        trainer.log_metrics(metrics)
        return metrics

    def _metrics(self, result: Any) -> dict[str, float]:
        if isinstance(result, Mapping):
            metrics = {str(k): float(v) for k, v in result.items()}
        else:
            metrics = {self.monitor or "score": float(result)}
        if not metrics:
            raise ValueError("eval_fn returned no metrics")
        return metrics

    def _key(self, metrics: dict[str, float]) -> str:
        if self.monitor is None:
            if len(metrics) != 1:
                raise ValueError(f"eval_fn returned {sorted(metrics)}: pass monitor= to say "
                                 f"which one decides the best weights")
            self.monitor = next(iter(metrics))
        if self.monitor not in metrics:
            raise ValueError(f"monitor {self.monitor!r} is not among the metrics eval_fn "
                             f"returned: {sorted(metrics)}")
        return self.monitor

    def on_batch_end(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        if self.every_steps is not None and (step + 1) % self.every_steps == 0:
            logs.update(self.evaluate(trainer))

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        if self.every_steps is None:
            logs.update(self.evaluate(trainer))

    def on_train_end(self, trainer: Any) -> None:
        if self.restore_best and self.best_weights is not None:
            trainer.load_model_state(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step, "best_epoch": self.best_epoch,
                "monitor": self.monitor, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_step = state["best"], state["best_step"]
        self.best_epoch, self.monitor = state["best_epoch"], state["monitor"]
        self.best_weights = state["best_weights"]


def _check_same_on_every_rank(metrics: dict[str, float]) -> None:
    """Under torchrun every rank must see the same metrics: the choice of the best weights
    (and, under FSDP, the gathers it starts) must not differ between ranks."""
    if not distributed.is_distributed():
        return
    every = distributed.gather_objects(metrics)
    if any(m != every[0] for m in every[1:]):
        raise ValueError(f"eval_fn returned different metrics on the ranks ({every}): combine "
                         f"each rank's part with kexue.train.distributed.reduce_mean / "
                         f"all_reduce_sum so every rank returns the metric of the whole set")


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    evaluations (put it after the ``Evaluator`` that computes ``monitor``)."""

    def __init__(self, monitor: str, *, patience: int = 3, mode: str = "max",
                 min_delta: float = 0.0) -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        self.monitor, self.patience, self.mode, self.min_delta = monitor, patience, mode, min_delta
        self.best: float | None = None
        self.wait = 0

    def _check(self, trainer: Any, logs: Mapping[str, Any]) -> None:
        if self.monitor not in logs:
            return
        value = float(logs[self.monitor])
        if _better(self.mode, value, self.best, self.min_delta):
            self.best, self.wait = value, 0
        else:
            self.wait += 1
            if self.wait > self.patience:
                trainer.stop_training = True

    def on_batch_end(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        self._check(trainer, logs)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        self._check(trainer, logs)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.wait = state["best"], state["wait"]
