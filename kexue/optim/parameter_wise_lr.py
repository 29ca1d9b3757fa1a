"""Parameter-wise learning-rate multipliers (bert4keras ``extend_with_parameter_wise_lr``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from torch.optim import Optimizer

from kexue.optim._common import require_names
from kexue.optim._extension import OptimizerExtension, StepContext, extend


class ParameterWiseLrMixin(OptimizerExtension):
    """Multiply the update of parameters whose name contains a key by that key's value.

    Option ``paramwise_lr_schedule``: ``{name_substring: multiplier}``, e.g.
    ``{"embeddings": 0.1, "classifier": 10.0}``; a parameter matching several keys gets the
    product of their multipliers, one matching none is unchanged. Needs
    ``model.named_parameters()``. bert4keras ``extend_with_parameter_wise_lr``; in plain
    PyTorch the same effect for SGD/Adam is a param group with a scaled ``lr``, which this
    wrapper saves you from building by hand.
    """

    _ext_options = {"paramwise_lr_schedule": {}}
    _ext_edits_deltas = True

    def _ext_check_group(self, group: dict[str, Any]) -> None:
        super()._ext_check_group(group)
        schedule = group["paramwise_lr_schedule"]
        if not isinstance(schedule, Mapping):
            raise TypeError("paramwise_lr_schedule must be a mapping {name_substring: multiplier}")
        out = {}
        for key, value in schedule.items():
            if not isinstance(key, str) or not key:
                raise TypeError(
                    f"paramwise_lr_schedule keys must be non-empty strings, got {key!r}"
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                    value) or value < 0:
                raise ValueError(f"paramwise_lr_schedule[{key!r}] must be finite and >= 0, "
                                 f"got {value!r}")
            out[key] = float(value)
        group["paramwise_lr_schedule"] = out
        if out:
            require_names(group, "paramwise_lr_schedule")

    def _ext_edit_deltas(self, ctx: StepContext) -> None:
        super()._ext_edit_deltas(ctx)
        for group, params, _olds, deltas in ctx.updates:
            schedule = group["paramwise_lr_schedule"]
            if not schedule:
                continue
            names = dict(zip(map(id, group["params"]), group["param_names"]))
            for p, delta in zip(params, deltas):
                factor = math.prod(v for k, v in schedule.items() if k in names[id(p)])
                if factor != 1.0:
                    delta.mul_(factor)
                    ctx.dirty = True


def extend_with_parameter_wise_lr(
    base: type[Optimizer], name: str | None = None
) -> type[Optimizer]:
    """Return ``base`` extended with name-matched update multipliers (option
    ``paramwise_lr_schedule``). See :class:`ParameterWiseLrMixin`.

    Example::

        AdaXP = extend_with_parameter_wise_lr(AdaX)
        opt = AdaXP(model.named_parameters(), lr=1e-3, paramwise_lr_schedule={"embed": 0.1})
    """
    return extend(base, ParameterWiseLrMixin, name, "WithParameterWiseLr")
