"""bert4keras's piecewise-linear learning-rate schedule and its optimizer wrapper."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from torch.optim import Optimizer

from kexue.optim._extension import OptimizerExtension, StepContext, extend


def check_schedule(schedule: Any) -> dict[int, float]:
    """Validate a ``{step: multiplier}`` schedule and return it sorted by step."""
    if not isinstance(schedule, Mapping):
        raise TypeError(f"lr_schedule must be a mapping {{step: multiplier}}, got "
                        f"{type(schedule).__name__}")
    if not schedule:
        raise ValueError("lr_schedule must not be empty")
    out: dict[int, float] = {}
    for step in sorted(schedule):
        value = schedule[step]
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"lr_schedule steps must be ints >= 0, got {step!r}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value) or value < 0:
            raise ValueError(f"lr_schedule multipliers must be finite and >= 0, got {value!r} "
                             f"at step {step}")
        out[step] = float(value)
    return out


def piecewise_linear(t: float, schedule: Mapping[int, float]) -> float:
    """bert4keras's ``piecewise_linear``: linear interpolation through ``{step: value}``.

    The points are sorted by step; if there is no point at step 0, ``(0, 0.0)`` is prepended
    (so ``{1000: 1.0}`` is a linear warm-up from 0); after the last point the value stays
    constant. ``{1000: 1, 2000: 0.1}``: warm up to 1 over 1000 steps, decay linearly to 0.1 at
    step 2000, then hold. Use it as a multiplier of the learning rate, e.g. through
    ``extend_with_piecewise_linear_lr`` or ``LambdaLR(opt, lambda t: piecewise_linear(t, s))``.
    """
    points = sorted(check_schedule(schedule).items())
    if points[0][0] != 0:
        points.insert(0, (0, 0.0))
    if t >= points[-1][0]:
        return points[-1][1]
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t0 <= t < t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[0][1]  # t < 0


class PiecewiseLinearLrMixin(OptimizerExtension):
    """Multiply every update by ``piecewise_linear(t, lr_schedule)``.

    ``t`` counts the updates this group already made (0 at the first update, as bert4keras's
    ``iterations``; with gradient accumulation it counts real updates). Scaling the update
    equals scaling the learning rate for SGD, Adam, AdaX and AdaFactor without momentum.
    Option (also per group): ``lr_schedule``, ``{step: multiplier}``, default ``{0: 1.0}``.
    bert4keras ``extend_with_piecewise_linear_lr``.
    """

    _ext_options = {"lr_schedule": {0: 1.0}}
    _ext_counters = ("lr_schedule_step",)
    _ext_edits_deltas = True

    def _ext_check_group(self, group: dict[str, Any]) -> None:
        super()._ext_check_group(group)
        group["lr_schedule"] = check_schedule(group["lr_schedule"])

    def _ext_edit_deltas(self, ctx: StepContext) -> None:
        super()._ext_edit_deltas(ctx)
        for group, _params, _olds, deltas in ctx.updates:
            factor = piecewise_linear(group["lr_schedule_step"], group["lr_schedule"])
            group["lr_schedule_step"] += 1
            if factor != 1.0 and deltas:
                for delta in deltas:
                    delta.mul_(factor)
                ctx.dirty = True


def extend_with_piecewise_linear_lr(base: type[Optimizer],
                                    name: str | None = None) -> type[Optimizer]:
    """Return ``base`` extended with a ``{step: multiplier}`` learning-rate schedule (option
    ``lr_schedule``). See :class:`PiecewiseLinearLrMixin` and :func:`piecewise_linear`.

    Example::

        AdaXLR = extend_with_piecewise_linear_lr(AdaX)
        opt = AdaXLR(model.parameters(), lr=1e-3, lr_schedule={1000: 1.0, 10000: 0.1})
    """
    return extend(base, PiecewiseLinearLrMixin, name, "WithPiecewiseLinearLr")
