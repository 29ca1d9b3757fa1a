"""Layer-wise adaptation (LAMB-style trust ratio) as an optimizer wrapper."""

from __future__ import annotations

from typing import Any

import torch
from torch.optim import Optimizer

from kexue.optim._common import check_patterns, name_matches, require_names
from kexue.optim._extension import OptimizerExtension, StepContext, extend, group_lr

_TINY = 1e-12


class LayerAdaptationMixin(OptimizerExtension):
    """Layer adaptation: rescale each tensor's update to ``lr * ||theta||`` (LAMB's trust ratio).

    ``delta <- delta * ||theta_old|| / ||delta / lr||``, i.e. the update keeps its direction
    and its norm becomes ``lr * ||theta_old||``. Tensors with ``theta_old = 0``, a zero update
    or ``lr = 0`` are left as they are.
    You, Li, Reddi et al., "Large Batch Optimization for Deep Learning: Training BERT in 76
    minutes" (LAMB), arXiv:1904.00962; bert4keras ``extend_with_layer_adaptation``; Su
    discusses it as AdaFactor's "layer adaptation" step (https://kexue.fm/archives/7302).

    Pitfall: the ratio is relative to the *whole* update inside this wrapper, so put weight
    decay inside it (``extend_with_layer_adaptation(extend_with_weight_decay(Adam))``) to get
    LAMB proper. Option ``exclude_from_layer_adaptation``: name substrings left unadapted.
    """

    _ext_options = {"exclude_from_layer_adaptation": ()}
    _ext_edits_deltas = True

    def _ext_check_group(self, group: dict[str, Any]) -> None:
        super()._ext_check_group(group)
        group["exclude_from_layer_adaptation"] = check_patterns(
            "exclude_from_layer_adaptation", group["exclude_from_layer_adaptation"])
        if group["exclude_from_layer_adaptation"]:
            require_names(group, "exclude_from_layer_adaptation")

    def _ext_prepare(self, ctx: StepContext) -> None:
        super()._ext_prepare(ctx)
        for group in self.param_groups:  # type: ignore[attr-defined]
            group_lr(group, "layer adaptation")  # fail before anything is updated

    def _ext_edit_deltas(self, ctx: StepContext) -> None:
        super()._ext_edit_deltas(ctx)
        for group, params, olds, deltas in ctx.updates:
            if not params:
                continue
            lr = group_lr(group, "layer adaptation")
            if lr == 0.0:
                continue
            names = dict(zip(map(id, group["params"]), group.get("param_names") or []))
            for p, old, delta in zip(params, olds, deltas):
                if name_matches(names.get(id(p)), group["exclude_from_layer_adaptation"]):
                    continue
                theta_norm = float(torch.linalg.vector_norm(old.to(delta.dtype)))
                delta_norm = float(torch.linalg.vector_norm(delta))
                if theta_norm > 0.0 and delta_norm > _TINY * lr:
                    delta.mul_(lr * theta_norm / delta_norm)
                    ctx.dirty = True


def extend_with_layer_adaptation(base: type[Optimizer], name: str | None = None) -> type[Optimizer]:
    """Return ``base`` extended with the LAMB trust ratio (option
    ``exclude_from_layer_adaptation``). See :class:`LayerAdaptationMixin`.

    Example::

        Lamb = extend_with_layer_adaptation(extend_with_weight_decay(torch.optim.Adam), "Lamb")
    """
    return extend(base, LayerAdaptationMixin, name, "WithLayerAdaptation")
