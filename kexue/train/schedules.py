"""Callbacks that change a number during training: learning-rate warm-up and schedules, and a
loss coefficient (kexue.fm/archives/5765, "让Keras更酷一些", callbacks 2-4).

Every value is a pure function of the step (or epoch) counter, so a resumed run sets the same
values as an uninterrupted one. The LR callbacks scale each param group's ``initial_lr``
(recorded from ``lr`` when training starts, and saved with the optimizer state), so they never
compound. Use one LR callback per run (or a ``torch.optim.lr_scheduler`` passed to ``fit``,
stepped once per optimizer step); for warm-up followed by decay use :class:`PiecewiseLinearLR`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kexue.optim.piecewise_linear import check_schedule, piecewise_linear
from kexue.train.callbacks import Callback

__all__ = ["LRSchedule", "PiecewiseLinearLR", "ScheduledValue", "Warmup"]


def _set_lr(trainer: Any, factor: float) -> None:
    for group in trainer.optimizer.param_groups:
        group["lr"] = group["initial_lr"] * factor


def _record_initial_lr(trainer: Any) -> None:
    for group in trainer.optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])


class Warmup(Callback):
    """Linear warm-up: ``lr = initial_lr * (t + 1) / steps`` for the first ``steps`` optimizer
    steps (``t`` = steps done before this one, from 0), then ``initial_lr``.

    This is the warm-up of 5765 (there ``lr = 0.001 * (step + 1) / (steps_per_epoch * 10)``
    during the first 10 epochs): the first step already moves, unlike
    ``piecewise_linear(t, {steps: 1})``, which starts at 0.
    """

    def __init__(self, steps: int) -> None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"warm-up steps must be an int >= 1, got {steps!r}")
        self.steps = steps

    def factor(self, t: int) -> float:
        return min(1.0, (t + 1) / self.steps)

    def on_train_begin(self, trainer: Any) -> None:
        _record_initial_lr(trainer)

    def on_batch_begin(self, trainer: Any, step: int) -> None:
        if step <= self.steps:
            _set_lr(trainer, self.factor(step))


class PiecewiseLinearLR(Callback):
    """``lr = initial_lr * piecewise_linear(t, schedule)`` at optimizer step ``t`` (from 0).

    ``schedule`` is bert4keras's ``{step: multiplier}`` (see
    :func:`kexue.optim.piecewise_linear`): ``{1000: 1, 10000: 0.1}`` warms up linearly from 0
    over 1000 steps, decays linearly to 0.1 at step 10000, then holds. Same schedule as the
    optimizer wrapper ``extend_with_piecewise_linear_lr``, applied to ``lr`` instead of the
    update (so it also reaches schedulers, momentum and the logged lr).
    """

    def __init__(self, schedule: Mapping[int, float]) -> None:
        self.schedule = check_schedule(schedule)

    def factor(self, t: int) -> float:
        return piecewise_linear(t, self.schedule)

    def on_train_begin(self, trainer: Any) -> None:
        _record_initial_lr(trainer)

    def on_batch_begin(self, trainer: Any, step: int) -> None:
        _set_lr(trainer, self.factor(step))


class LRSchedule(Callback):
    """Keras's ``LearningRateScheduler``: ``lr = fn(epoch)`` (absolute, epochs from 0), set at
    the start of every epoch. 5765's example: ``LRSchedule(lambda e: 1e-2 if e < 50 else
    1e-3 if e < 80 else 1e-4)``."""

    def __init__(self, fn: Callable[[int], float]) -> None:
        if not callable(fn):
            raise TypeError("LRSchedule needs a function epoch -> lr")
        self.fn = fn

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:
        lr = float(self.fn(epoch))
        for group in trainer.optimizer.param_groups:
            group["lr"] = lr


class ScheduledValue(Callback):
    """A number that changes during training, e.g. a loss coefficient (5765's label-smoothing
    example: ``e = 0.1``, then ``0.01`` after epoch 100).

    ``ScheduledValue({0: 0.1, 100: 0.01})`` holds, during epoch ``e``, the value of the
    largest key ``<= e``; ``unit="step"`` counts optimizer steps instead; ``interpolate=True``
    interpolates linearly between the points (bert4keras's ``piecewise_linear``). Read it in
    the loss with ``float(coef)`` or ``coef.value``; pass it to ``fit(callbacks=[coef])``.
    """

    def __init__(self, schedule: Mapping[int, float], *, unit: str = "epoch",
                 interpolate: bool = False) -> None:
        if unit not in ("epoch", "step"):
            raise ValueError(f"unit must be 'epoch' or 'step', got {unit!r}")
        self.schedule = check_schedule(schedule)
        self.unit = unit
        self.interpolate = interpolate
        self.value = self.at(0)

    def at(self, t: int) -> float:
        if self.interpolate:
            return piecewise_linear(t, self.schedule)
        keys = [k for k in self.schedule if k <= t]
        return self.schedule[max(keys)] if keys else self.schedule[min(self.schedule)]

    def __float__(self) -> float:
        return self.value

    def on_train_begin(self, trainer: Any) -> None:
        self.value = self.at(trainer.epoch if self.unit == "epoch" else trainer.step)

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:
        if self.unit == "epoch":
            self.value = self.at(epoch)

    def on_batch_begin(self, trainer: Any, step: int) -> None:
        if self.unit == "step":
            self.value = self.at(step)
