"""Decoupled weight decay as an optimizer wrapper (bert4keras ``extend_with_weight_decay``)."""

from __future__ import annotations

import math
from typing import Any

from torch.optim import Optimizer

from kexue.optim._common import check_number, check_patterns, name_matches, require_names
from kexue.optim._extension import OptimizerExtension, StepContext, extend, group_lr


class WeightDecayMixin(OptimizerExtension):
    """Decoupled weight decay: ``delta <- delta - lr * weight_decay_rate * theta_old``.

    Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (AdamW), arXiv:1711.05101;
    the bert4keras wrapper Su wrote for it (``extend_with_weight_decay``). The decay uses the
    group's current ``lr`` (so it follows ``torch.optim.lr_scheduler``) and the parameter value
    before the step; it is applied only on real updates.

    Options (also per param group): ``weight_decay_rate`` (>= 0, default 0.01) and
    ``exclude_from_weight_decay``: name substrings (e.g. ``["bias", "norm"]``) whose
    parameters are not decayed; needs ``model.named_parameters()``.
    """

    _ext_options = {"weight_decay_rate": 0.01, "exclude_from_weight_decay": ()}
    _ext_edits_deltas = True

    def _ext_check_group(self, group: dict[str, Any]) -> None:
        super()._ext_check_group(group)
        group["weight_decay_rate"] = check_number("weight_decay_rate", group["weight_decay_rate"],
                                                  0.0, math.inf, high_open=True)
        group["exclude_from_weight_decay"] = check_patterns("exclude_from_weight_decay",
                                                            group["exclude_from_weight_decay"])
        if group["exclude_from_weight_decay"]:
            require_names(group, "exclude_from_weight_decay")

    def _ext_prepare(self, ctx: StepContext) -> None:
        super()._ext_prepare(ctx)
        for group in self.param_groups:  # type: ignore[attr-defined]
            if group["weight_decay_rate"] != 0.0:
                group_lr(group, "weight decay")  # fail before anything is updated

    def _ext_edit_deltas(self, ctx: StepContext) -> None:
        super()._ext_edit_deltas(ctx)
        for group, params, olds, deltas in ctx.updates:
            rate = group["weight_decay_rate"]
            if rate == 0.0 or not params:
                continue
            scale = -group_lr(group, "weight decay") * rate
            names = dict(zip(map(id, group["params"]), group.get("param_names") or []))
            for p, old, delta in zip(params, olds, deltas):
                if name_matches(names.get(id(p)), group["exclude_from_weight_decay"]):
                    continue
                delta.add_(old.to(delta.dtype), alpha=scale)
                ctx.dirty = True


def extend_with_weight_decay(base: type[Optimizer], name: str | None = None) -> type[Optimizer]:
    """Return ``base`` extended with decoupled weight decay (options ``weight_decay_rate``,
    ``exclude_from_weight_decay``). See :class:`WeightDecayMixin`.

    Example::

        AdaXW = extend_with_weight_decay(AdaX, "AdaXW")
        opt = AdaXW(model.named_parameters(), lr=1e-3, weight_decay_rate=0.01,
                    exclude_from_weight_decay=["bias", "norm"])
    """
    return extend(base, WeightDecayMixin, name, "WithWeightDecay")
