"""Exponential moving average of the weights (bert4keras's EMA wrapper)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.optim import Optimizer

from kexue.optim._common import check_number, state_dtype
from kexue.optim._extension import OptimizerExtension, StepContext, extend


class ExponentialMovingAverageMixin(OptimizerExtension):
    """Keep ``ema = d * ema + (1 - d) * theta`` after every update, for evaluation.

    The average starts at zero and is bias-corrected when applied,
    ``theta_ema = ema / (1 - d^t)`` after ``t`` updates (as bert4keras), so early averages are
    not pulled towards 0. Evaluate with the averaged weights through the context manager::

        with opt.ema_weights():
            evaluate(model)          # parameters hold the EMA weights here
        # the training weights are back

    or ``apply_ema_weights()`` / ``restore_weights()``. ``step()`` refuses to run while the
    EMA weights are applied. Option: ``ema_momentum`` (d, in [0, 1), default 0.999). The
    averages (float32 for low-precision parameters) are saved in ``state_dict``.
    Polyak & Juditsky (1992) averaging; bert4keras ``extend_with_exponential_moving_average``.
    """

    _ext_options = {"ema_momentum": 0.999}
    _ext_counters = ("ema_step",)

    def _ext_check_group(self, group: dict[str, Any]) -> None:
        super()._ext_check_group(group)
        group["ema_momentum"] = check_number("ema_momentum", group["ema_momentum"], 0.0, 1.0,
                                             high_open=True)

    def _ext_after_update(self, ctx: StepContext) -> None:
        super()._ext_after_update(ctx)
        for group in self.param_groups:  # type: ignore[attr-defined]
            group["ema_step"] += 1
            d = group["ema_momentum"]
            for p in group["params"]:
                ext = self.extension_state.setdefault(p, {})
                if "ema_weight" not in ext:
                    ext["ema_weight"] = torch.zeros_like(p, dtype=state_dtype(p))
                ema = ext["ema_weight"]
                ema.mul_(d).add_(p.to(ema.dtype), alpha=1.0 - d)

    def apply_ema_weights(self, bias_correction: bool = True) -> None:
        """Copy the (bias-corrected) averages into the parameters, keeping a backup."""
        if self._ext_backup is not None:
            raise RuntimeError("EMA weights are already applied; call restore_weights() first")
        backup = []
        for group in self.param_groups:  # type: ignore[attr-defined]
            t = group["ema_step"]
            if t == 0:
                continue
            scale = 1.0 / (1.0 - group["ema_momentum"] ** t) if bias_correction else 1.0
            for p in group["params"]:
                ema = self.extension_state.get(p, {}).get("ema_weight")
                if ema is None:
                    continue
                backup.append((p, p.detach().clone()))
                with torch.no_grad():
                    p.copy_(ema * scale)
        self._ext_backup = backup

    def restore_weights(self) -> None:
        """Put the training weights saved by :meth:`apply_ema_weights` back."""
        if self._ext_backup is None:
            raise RuntimeError("restore_weights() without apply_ema_weights()")
        with torch.no_grad():
            for p, saved in self._ext_backup:
                p.copy_(saved)
        self._ext_backup = None

    @contextmanager
    def ema_weights(self, bias_correction: bool = True) -> Iterator[None]:
        """Context manager: EMA weights inside, training weights restored on exit."""
        self.apply_ema_weights(bias_correction)
        try:
            yield
        finally:
            self.restore_weights()


def extend_with_exponential_moving_average(base: type[Optimizer],
                                           name: str | None = None) -> type[Optimizer]:
    """Return ``base`` extended with a weight EMA (option ``ema_momentum``; methods
    ``ema_weights()``, ``apply_ema_weights()``, ``restore_weights()``).
    See :class:`ExponentialMovingAverageMixin`.

    Example::

        AdaXEMA = extend_with_exponential_moving_average(AdaX)
        opt = AdaXEMA(model.parameters(), lr=1e-3, ema_momentum=0.999)
        with opt.ema_weights():
            accuracy = evaluate(model)
    """
    return extend(base, ExponentialMovingAverageMixin, name, "WithExponentialMovingAverage")
