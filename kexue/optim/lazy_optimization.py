"""Lazy optimization (bert4keras ``extend_with_lazy_optimization``): untouched rows stay put."""

from __future__ import annotations

from typing import Any

import torch
from torch.optim import Optimizer

from kexue.optim._common import check_patterns, name_matches, require_names
from kexue.optim._extension import OptimizerExtension, StepContext, extend


def _zero_rows(grad: torch.Tensor) -> torch.Tensor:
    """Mask of shape ``grad.shape[:-1] + (1,)``: True where the row (all axes but the last) is
    all zero; broadcasts against the parameter."""
    if grad.dim() == 0:
        return grad == 0
    return ~(grad != 0).any(dim=-1, keepdim=True)


class LazyOptimizationMixin(OptimizerExtension):
    """Leave rows whose gradient is exactly zero untouched: parameters *and* moments.

    Adam-type optimizers keep moving a parameter after its gradient turns zero (the moments
    still decay and the update is ``m / sqrt(v)`` of stale moments), which for an embedding
    means every row moves at every step although only the rows of the batch's tokens got a
    gradient. With this wrapper, a row (all axes but the last, as bert4keras: a vocabulary
    row of an embedding; a whole vector for 1-D parameters) whose gradient is all zero keeps
    its value and its optimizer statistics: the state tensors of the parameter's shape
    (``exp_avg``, ``exp_avg_sq`` ...) are restored row by row after the wrapped step.
    bert4keras ``extend_with_lazy_optimization``.

    Sparse gradients (``nn.Embedding(sparse=True)``) are densified for the wrapped optimizer
    and their untouched rows treated the same way, so AdaX/AdaFactor/Adam can train sparse
    embeddings through this wrapper.

    Option ``include_in_lazy_optimization``: name substrings of the parameters treated lazily
    (e.g. ``["embeddings"]``); ``None`` (default) means every parameter.

    Pitfall: factored statistics (AdaFactor's row/column averages of a matrix) mix rows and
    are not restored; the step counter of a parameter still advances.
    """

    _ext_options = {"include_in_lazy_optimization": None}
    _ext_edits_deltas = True

    def _ext_check_group(self, group: dict[str, Any]) -> None:
        super()._ext_check_group(group)
        include = group["include_in_lazy_optimization"]
        if include is not None:
            group["include_in_lazy_optimization"] = check_patterns(
                "include_in_lazy_optimization", include)
            require_names(group, "include_in_lazy_optimization")

    def _lazy_params(self, group: dict[str, Any]):
        include = group["include_in_lazy_optimization"]
        names = group.get("param_names") or [None] * len(group["params"])
        for name, p in zip(names, group["params"]):
            if p.grad is None:
                continue
            if include is None or name_matches(name, include):
                yield p

    def _ext_prepare(self, ctx: StepContext) -> None:
        super()._ext_prepare(ctx)
        lazy: dict[int, tuple[torch.Tensor, dict[str, torch.Tensor]]] = {}
        for group in self.param_groups:  # type: ignore[attr-defined]
            for p in self._lazy_params(group):
                if p.grad.is_sparse:
                    ctx.restore_grads.append((p, p.grad))
                    p.grad = p.grad.to_dense()
                mask = _zero_rows(p.grad)
                if not bool(mask.any()):
                    continue
                saved = {
                    key: value.clone()
                    for key, value in self.state[p].items()  # type: ignore[attr-defined]
                    if isinstance(value, torch.Tensor) and value.shape == p.shape
                }
                lazy[id(p)] = (mask, saved)
        ctx.scratch["lazy"] = lazy

    def _ext_edit_deltas(self, ctx: StepContext) -> None:
        super()._ext_edit_deltas(ctx)
        lazy = ctx.scratch.get("lazy", {})
        for _group, params, _olds, deltas in ctx.updates:
            for p, delta in zip(params, deltas):
                if id(p) not in lazy:
                    continue
                mask, saved = lazy[id(p)]
                delta.masked_fill_(mask, 0)
                ctx.dirty = True
                state = self.state[p]  # type: ignore[attr-defined]
                for key, old in saved.items():
                    if key in state and state[key].shape == old.shape:
                        state[key].copy_(torch.where(mask, old, state[key]))


def extend_with_lazy_optimization(base: type[Optimizer],
                                  name: str | None = None) -> type[Optimizer]:
    """Return ``base`` extended with lazy (row-sparse) updates (option
    ``include_in_lazy_optimization``). See :class:`LazyOptimizationMixin`.

    Example::

        LazyAdaX = extend_with_lazy_optimization(AdaX)
        opt = LazyAdaX(model.named_parameters(), include_in_lazy_optimization=["embed"])
    """
    return extend(base, LazyOptimizationMixin, name, "WithLazyOptimization")
