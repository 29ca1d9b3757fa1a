"""Inference weights: safetensors files written atomically, and the ``ModelCheckpoint``
callback (best and/or last, keep-k).

These hold the weights a user deploys: with an EMA optimizer they are the EMA weights (the
bert4keras practice). The raw training weights and everything else needed to continue live in
the resumable checkpoints (:mod:`kexue.train.checkpoint`).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from kexue.io.atomic import remove_stale_temps, write_bytes
from kexue.train.callbacks import Callback

__all__ = ["ModelCheckpoint", "load_weights", "save_weights"]


def save_weights(path: str | os.PathLike, state: Mapping[str, torch.Tensor]) -> None:
    """Write a state dict as one safetensors file, atomically (tied tensors are stored once
    per name, as independent copies)."""
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    remove_stale_temps(path)
    write_bytes(path, st_save(tensors, metadata={"format": "pt"}))


def load_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    return st_load(Path(path).read_bytes())


def _better(mode: str, new: float, best: float | None, min_delta: float = 0.0) -> bool:
    if not math.isfinite(new):
        return False
    if best is None:
        return True
    return new > best + min_delta if mode == "max" else new < best - min_delta


class ModelCheckpoint(Callback):
    """Save inference weights (EMA weights when the optimizer keeps an EMA) as safetensors.

    Args:
        directory: where the files go (created if missing).
        monitor: a metric an :class:`~kexue.train.evaluation.Evaluator` listed earlier in the
            callbacks puts in the logs, e.g. ``"val_acc"``; needed for ``save_best``.
        mode: ``"max"`` or ``"min"`` (is a larger ``monitor`` better?).
        save_best: keep ``best.safetensors``, replaced whenever ``monitor`` improves.
        save_last: write ``epoch-NNNN.safetensors`` after every epoch, keeping the newest
            ``keep`` of them.
    Only rank 0 writes.
    """

    def __init__(self, directory: str | os.PathLike, *, monitor: str | None = None,
                 mode: str = "max", save_best: bool = True, save_last: bool = False,
                 keep: int = 1) -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        if save_best and monitor is None:
            raise ValueError("save_best needs monitor= (a metric from an Evaluator)")
        if not (save_best or save_last):
            raise ValueError("nothing to save: set save_best and/or save_last")
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"keep must be an int >= 1, got {keep!r}")
        self.directory = Path(directory)
        self.monitor, self.mode = monitor, mode
        self.save_best, self.save_last, self.keep = save_best, save_last, keep
        self.best: float | None = None

    def _save(self, trainer: Any, name: str) -> None:
        """Every rank calls it (under FSDP the weights are gathered); rank 0 writes."""
        if not trainer.is_main and getattr(trainer, "strategy", "ddp") != "fsdp":
            return
        with trainer.eval_weights():
            state = trainer.full_model_state(keep=trainer.is_main)
        if trainer.is_main:
            self.directory.mkdir(parents=True, exist_ok=True)
            save_weights(self.directory / name, state)

    def _check(self, trainer: Any, logs: Mapping[str, Any]) -> None:
        if not (self.save_best and self.monitor in logs):
            return
        value = float(logs[self.monitor])
        if _better(self.mode, value, self.best):
            self.best = value
            self._save(trainer, "best.safetensors")

    def on_batch_end(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        self._check(trainer, logs)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        self._check(trainer, logs)
        if self.save_last:
            self._save(trainer, f"epoch-{epoch:04d}.safetensors")
        if self.save_last and trainer.is_main:
            pattern = re.compile(r"^epoch-\d{4,}\.safetensors$")
            old = sorted(p for p in self.directory.iterdir() if pattern.match(p.name))
            for p in old[:-self.keep]:
                p.unlink(missing_ok=True)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state["best"]
