"""The machinery behind the ``extend_with_*`` wrappers (bert4keras's "intercept the update").

``extend_with_x(OptimizerCls)`` returns ``type(name, (XMixin, OptimizerCls), {})``. Every mixin
derives from :class:`OptimizerExtension`, so however many wrappers are stacked, C3
linearisation puts them all before one shared ``OptimizerExtension`` and then the wrapped
optimizer, e.g. ``extend_with_lookahead(extend_with_weight_decay(AdaX))`` has the MRO
``[.., LookaheadMixin, .., WeightDecayMixin, OptimizerExtension, AdaX, Optimizer]``.

``OptimizerExtension.step`` is the only ``step`` and runs fixed phases; inside a phase the
wrappers act from the innermost (first applied) to the outermost, like bert4keras, where each
wrapper transforms the update produced by everything it wraps:

1. ``_ext_gate``: may skip the update entirely (gradient accumulation);
2. ``_ext_prepare``: snapshots taken before the update (lazy rows, lookahead slow weights);
3. the wrapped optimizer's own ``step``;
4. ``_ext_edit_deltas``: edits of ``delta = theta_new - theta_old`` (weight decay, layer
   adaptation, schedules, multipliers, lazy rows); ``theta = theta_old + delta`` afterwards;
5. ``_ext_after_update``: post-update averaging (lookahead, EMA);
6. ``_ext_cleanup``: always runs (restores the gradients the user gave).

Non-finite gradients (option ``nonfinite``, every wrapped optimizer, torch's included): after
the gate, a parameter whose gradient holds a NaN or an infinity has its gradient hidden
(``None``) for the rest of the step, so neither the wrapped optimizer nor any wrapper updates
it or its statistics; a ``RuntimeWarning`` names it and ``extension_state[p]
["nonfinite_skips"]`` counts it (:meth:`OptimizerExtension.nonfinite_skips`).
``nonfinite="raise"`` raises ``FloatingPointError`` before anything is updated. Gradient
accumulation screens every micro-batch the same way before adding it to its buffer.

Wrapper options are stored in every param group (so they can differ per group, travel in
``state_dict`` and can be changed like ``lr``); wrapper per-parameter tensors live in
``self.extension_state`` and are saved under ``state_dict()["extension_state"]``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch.optim import Optimizer

from kexue.optim._common import (
    KexueOptimizer,
    check_compatible_state_dict,
    check_nonfinite,
    check_patterns_match,
    param_index,
    restore_state_dtypes,
    screen_nonfinite,
    skip_counts,
)


class StepContext:
    """Scratch space of one ``step`` call shared by the phases."""

    def __init__(self) -> None:
        # (group, params with a gradient, old values, deltas in float32/float64)
        self.updates: list[tuple[dict[str, Any], list[torch.Tensor], list[torch.Tensor],
                                 list[torch.Tensor]]] = []
        self.dirty = False
        self.restore_grads: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        self.scratch: dict[str, Any] = {}


class OptimizerExtension:
    """Root mixin of all wrappers. Not useful alone; see :func:`extend`."""

    # Constructor options of this mixin: name -> default (also a param-group key).
    _ext_options: ClassVar[dict[str, Any]] = {"nonfinite": "skip"}
    # Per-group counters of this mixin (param-group keys starting at 0).
    _ext_counters: ClassVar[tuple[str, ...]] = ()
    # Whether this mixin edits deltas (then the old parameter values are snapshotted).
    _ext_edits_deltas: ClassVar[bool] = False

    def __init__(self, params: Any, *args: Any, **kwargs: Any) -> None:
        options: dict[str, Any] = {}
        counters: list[str] = []
        own_guard = issubclass(type(self), KexueOptimizer)  # AdaX/AdaFactor take nonfinite too
        for cls in type(self).__mro__:
            for k, v in cls.__dict__.get("_ext_options", {}).items():
                if k == "nonfinite" and own_guard:
                    continue  # passed on to the wrapped optimizer, which stores it in the groups
                options[k] = kwargs.pop(k, v)
            counters.extend(cls.__dict__.get("_ext_counters", ()))
        self._ext_option_defaults = options
        self._ext_counter_names = tuple(counters)
        self.extension_state: dict[torch.Tensor, dict[str, Any]] = {}
        self._ext_backup: list[tuple[torch.Tensor, torch.Tensor]] | None = None
        super().__init__(params, *args, **kwargs)  # the wrapped optimizer; unknown kwargs raise
        check_patterns_match(self.param_groups)  # type: ignore[attr-defined]

    # ---- param groups --------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)  # type: ignore[misc]
        group = self.param_groups[-1]  # type: ignore[attr-defined]
        for key, value in self._ext_option_defaults.items():
            group.setdefault(key, copy.deepcopy(value))
        for key in self._ext_counter_names:
            group.setdefault(key, 0)
        self._ext_check_group(group)

    def _ext_check_group(self, group: dict[str, Any]) -> None:
        """Validate (and normalise) this mixin's options in ``group``; cooperative."""
        group["nonfinite"] = check_nonfinite(group.setdefault("nonfinite", "skip"))

    def _ext_screen(self, ctx: StepContext) -> None:
        """Hide the non-finite gradients for this step (or raise, with ``nonfinite="raise"``)."""
        for p in screen_nonfinite(self, self._skip_counter):  # type: ignore[arg-type]
            ctx.restore_grads.append((p, p.grad))
            p.grad = None

    def _skip_counter(self, p: torch.Tensor) -> dict[str, Any]:
        return self.extension_state.setdefault(p, {})

    def nonfinite_skips(self) -> dict[str | int, int]:
        """Updates skipped so far for a non-finite gradient, per parameter (name, or index in
        ``state_dict`` order); parameters never skipped are left out."""
        return skip_counts(self, self.extension_state)  # type: ignore[arg-type]

    # ---- phases (cooperative; each override calls super() first) ---------------------------
    def _ext_gate(self, ctx: StepContext) -> bool:
        return True

    def _ext_prepare(self, ctx: StepContext) -> None:
        pass

    def _ext_edit_deltas(self, ctx: StepContext) -> None:
        pass

    def _ext_after_update(self, ctx: StepContext) -> None:
        pass

    def _ext_cleanup(self, ctx: StepContext) -> None:
        for p, grad in reversed(ctx.restore_grads):  # put the caller's gradients back
            p.grad = grad
        ctx.restore_grads.clear()

    # ---- the one step ---------------------------------------------------------------------
    def _base_step(self) -> Callable[[], Any]:
        for cls in type(self).__mro__[type(self).__mro__.index(OptimizerExtension) + 1:]:
            if "step" in cls.__dict__:
                fn = cls.__dict__["step"]
                if getattr(fn, "hooked", False):  # torch's profiling wrapper: hooks run once
                    fn = fn.__wrapped__
                return fn.__get__(self)
        raise TypeError(f"{type(self).__name__} wraps no optimizer with a step method")

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Run the wrapped optimizer's step inside the wrappers' phases; returns ``closure()``."""
        if self._ext_backup is not None:
            raise RuntimeError(
                "EMA weights are applied: call restore_weights() (or leave the ema_weights() "
                "context) before step()"
            )
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        ctx = StepContext()
        try:
            if not self._ext_gate(ctx):
                return loss
            self._ext_screen(ctx)
            self._ext_prepare(ctx)
            edits = any(c.__dict__.get("_ext_edits_deltas", False) for c in type(self).__mro__)
            if edits:
                for group in self.param_groups:  # type: ignore[attr-defined]
                    params = [p for p in group["params"] if p.grad is not None]
                    olds = [p.detach().clone() for p in params]
                    ctx.updates.append((group, params, olds, []))
            self._base_step()()
            if edits:
                for _group, params, olds, deltas in ctx.updates:
                    for p, old in zip(params, olds):
                        if p.dtype in (torch.float16, torch.bfloat16):
                            deltas.append(p.float() - old.float())
                        else:
                            deltas.append(p - old)
                self._ext_edit_deltas(ctx)
                if ctx.dirty:
                    for _group, params, olds, deltas in ctx.updates:
                        for p, old, delta in zip(params, olds, deltas):
                            p.copy_(old.to(delta.dtype) + delta)
            self._ext_after_update(ctx)
        finally:
            self._ext_cleanup(ctx)
        return loss

    # ---- state_dict -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        sd = super().state_dict()  # type: ignore[misc]
        index = {id(p): i for i, p in enumerate(param_index(self))}  # type: ignore[arg-type]
        sd["extension_state"] = {
            index[id(p)]: dict(s) for p, s in self.extension_state.items() if s
        }
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        check_compatible_state_dict(self, state_dict)  # type: ignore[arg-type]
        if "extension_state" not in state_dict:
            raise ValueError(
                f"state_dict has no 'extension_state': it was not produced by a "
                f"{type(self).__name__}"
            )
        params = param_index(self)  # type: ignore[arg-type]
        restored: dict[torch.Tensor, dict[str, Any]] = {}
        for idx, saved in state_dict["extension_state"].items():
            if not isinstance(idx, int) or not 0 <= idx < len(params):
                raise ValueError(f"extension_state refers to parameter {idx!r}, which does not "
                                 f"exist ({len(params)} parameters)")
            p = params[idx]
            restored[p] = {
                k: v.detach().to(p.device).clone() if isinstance(v, torch.Tensor)
                else copy.deepcopy(v)
                for k, v in saved.items()
            }
        base = {k: v for k, v in state_dict.items() if k != "extension_state"}
        super().load_state_dict(base)  # type: ignore[misc]
        keys: frozenset[str] = frozenset().union(
            *(c.__dict__.get("_float32_state_keys", ()) for c in type(self).__mro__)
        )
        restore_state_dtypes(self, state_dict, keys)  # type: ignore[arg-type]
        self.extension_state = restored


def extend(base: type[Optimizer], mixin: type[OptimizerExtension], name: str | None,
           suffix: str) -> type[Optimizer]:
    """``type(name, (mixin, base), {})`` after checking ``base`` is an optimizer class."""
    if not isinstance(base, type) or not issubclass(base, Optimizer):
        raise TypeError(f"expected a torch.optim.Optimizer subclass, got {base!r}")
    if issubclass(base, mixin):
        raise TypeError(f"{base.__name__} is already extended with {mixin.__name__}")
    if base is torch.optim.LBFGS:
        raise TypeError("LBFGS re-evaluates its closure inside step and cannot be wrapped")
    if name is None:
        name = f"{base.__name__}{suffix}"
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Python identifier, got {name!r}")
    cls = type(name, (mixin, base), {"__module__": mixin.__module__})
    cls.__qualname__ = name
    cls.__doc__ = f"{base.__name__} extended by {mixin.__name__}.\n\n{mixin.__doc__ or ''}"
    return cls



def group_lr(group: dict[str, Any], wrapper: str) -> float:
    """The numeric learning rate of ``group`` (after any lr_scheduler), for wrappers that use it."""
    lr = group.get("lr")
    if isinstance(lr, torch.Tensor):
        lr = float(lr)
    if not isinstance(lr, int | float) or isinstance(lr, bool):
        raise ValueError(f"{wrapper} needs a numeric learning rate in every param group, got "
                         f"lr={lr!r}")
    return float(lr)
