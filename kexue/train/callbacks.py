"""Callbacks: the six Keras hooks (train / epoch / batch x begin / end) and their runner.

A callback is any object with some of these methods; :class:`Callback` provides empty ones.
``trainer`` is the :class:`kexue.train.loop.Trainer` running ``fit``: it exposes ``model``
(the plain module), ``optimizer``, ``scheduler``, ``step`` (optimizer steps done), ``epoch``,
``history``, ``is_main`` (rank 0), ``stop_training`` (set it to stop after this step),
``eval_weights()`` (a context manager that swaps the EMA weights in when the optimizer keeps
an EMA), ``full_model_state()`` (the full weights on the CPU; under ``strategy="fsdp"`` it
gathers the shards, so every rank must call it) and ``load_model_state(state)``. "Batch"
hooks run once per optimizer step (after all its accumulated micro-batches).

``logs`` of ``on_batch_end`` holds ``loss``, the step's loss as a tensor (reading it with
``float()`` syncs with the device, so only do it when you need it). ``on_epoch_end``'s logs
hold what evaluators computed this epoch. A callback with state (a best score, a patience
counter) defines ``state_dict()`` / ``load_state_dict()``; it is saved in every resumable
checkpoint and restored on resume. ``on_checkpoint(trainer, path)`` runs after a resumable
checkpoint is written (rank 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["Callback", "CallbackList"]

HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin",
         "on_batch_end", "on_checkpoint")


class Callback:
    """Base class with the Keras hooks; override the ones you need."""

    def on_train_begin(self, trainer: Any) -> None:
        pass

    def on_train_end(self, trainer: Any) -> None:
        pass

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:
        pass

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        pass

    def on_batch_begin(self, trainer: Any, step: int) -> None:
        pass

    def on_batch_end(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        pass

    def on_checkpoint(self, trainer: Any, path: str) -> None:
        pass


class CallbackList:
    """Runs every callback's hook in order; skips callbacks that lack the hook (so the
    per-step cost is a loop over the callbacks that do define it)."""

    def __init__(self, callbacks: Iterable[Any]) -> None:
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not any(hasattr(cb, h) for h in HOOKS):
                raise TypeError(f"{cb!r} is not a callback: it has none of the hooks {HOOKS}")
        self._by_hook = {
            h: [getattr(cb, h) for cb in self.callbacks
                if hasattr(cb, h) and not _is_empty_base(cb, h)]
            for h in HOOKS
        }

    def call(self, hook: str, *args: Any) -> None:
        for fn in self._by_hook[hook]:
            fn(*args)

    def state_dict(self) -> list[dict[str, Any]]:
        """The state of every callback that has one (in order, with its class name)."""
        return [{"class": type(cb).__name__, "state": cb.state_dict()}
                for cb in self.callbacks if hasattr(cb, "state_dict")]

    def load_state_dict(self, states: list[dict[str, Any]]) -> None:
        stateful = [cb for cb in self.callbacks if hasattr(cb, "state_dict")]
        mine = [type(cb).__name__ for cb in stateful]
        saved = [s["class"] for s in states]
        if mine != saved:
            raise ValueError(f"the checkpoint was saved with stateful callbacks {saved}, this "
                             f"run has {mine}: pass the same callbacks (in the same order) to "
                             f"resume")
        for cb, s in zip(stateful, states):
            cb.load_state_dict(s["state"])


def _is_empty_base(cb: Any, hook: str) -> bool:
    return getattr(type(cb), hook, None) is getattr(Callback, hook)
