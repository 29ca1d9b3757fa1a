"""Gradient accumulation as an optimizer wrapper (bert4keras's accumulation wrapper)."""

from __future__ import annotations

from typing import Any

import torch
from torch.optim import Optimizer

from kexue.optim._common import screen_nonfinite, state_dtype
from kexue.optim._extension import OptimizerExtension, StepContext, extend


class GradientAccumulationMixin(OptimizerExtension):
    """Update once every ``grad_accum_steps`` calls of ``step``, with the mean gradient.

    Calls ``1 .. k-1`` of each cycle only add ``p.grad`` to a buffer and leave parameters and
    optimizer state untouched; call ``k`` runs the wrapped optimizer (and every other wrapper)
    with ``p.grad`` replaced by the mean of the ``k`` gradients, then puts the caller's
    gradient back. So ``k`` micro-batches of size ``b`` give the update of one batch of size
    ``k*b`` (for a mean loss), at the memory of size ``b``. Keep calling ``zero_grad`` after
    every ``step`` as usual. bert4keras ``extend_with_gradient_accumulation``.

    A micro-batch gradient that is not finite is left out of the buffer (warned about and
    counted as a skip, see ``nonfinite``): it adds nothing, and the mean still divides by
    ``k``, so one bad micro-batch never poisons the accumulated gradient.

    Option: ``grad_accum_steps`` (int >= 1, default 2). The buffers (float32 for low-precision
    parameters) are saved in ``state_dict``, so a checkpoint taken mid-cycle resumes exactly.
    """

    _ext_options = {"grad_accum_steps": 2}
    _ext_counters = ("grad_accum_step",)

    def _ext_check_group(self, group: dict[str, Any]) -> None:
        super()._ext_check_group(group)
        k = group["grad_accum_steps"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"grad_accum_steps must be an int >= 1, got {k!r}")
        for other in self.param_groups[:-1]:  # type: ignore[attr-defined]
            if other["grad_accum_steps"] != k:
                raise ValueError("grad_accum_steps must be the same in every param group "
                                 f"(got {other['grad_accum_steps']} and {k})")

    def _ext_gate(self, ctx: StepContext) -> bool:
        if not super()._ext_gate(ctx):
            return False
        ready = []
        bad = set()
        for p in screen_nonfinite(self, self._skip_counter):  # type: ignore[arg-type]
            bad.add(id(p))
            ctx.restore_grads.append((p, p.grad))  # hidden for this step, given back after it
            p.grad = None
        for group in self.param_groups:  # type: ignore[attr-defined]
            group["grad_accum_step"] += 1
            k = group["grad_accum_steps"]
            for p in group["params"]:
                ext = self.extension_state.setdefault(p, {})
                if p.grad is not None:
                    if "accum_grad" not in ext:
                        ext["accum_grad"] = torch.zeros_like(p, dtype=state_dtype(p))
                    buf = ext["accum_grad"]
                    grad = p.grad.to_dense() if p.grad.is_sparse else p.grad
                    buf.add_(grad.to(buf.dtype))
                    ext["accum_used"] = True
            ready.append(group["grad_accum_step"] % k == 0)
        if not all(ready):
            return False
        for group in self.param_groups:  # type: ignore[attr-defined]
            k = group["grad_accum_steps"]
            for p in group["params"]:
                ext = self.extension_state.get(p, {})
                if not ext.get("accum_used", False):
                    continue
                buf = ext["accum_grad"]
                ext["accum_used"] = False
                ctx.restore_grads.append((p, p.grad))
                p.grad = (buf / k).to(p.dtype)
                buf.zero_()
        return True


def extend_with_gradient_accumulation(base: type[Optimizer],
                                      name: str | None = None) -> type[Optimizer]:
    """Return ``base`` extended with gradient accumulation (option ``grad_accum_steps``).
    See :class:`GradientAccumulationMixin`.

    Example::

        AdaXAcc = extend_with_gradient_accumulation(AdaX)
        opt = AdaXAcc(model.parameters(), lr=1e-3, grad_accum_steps=4)
    """
    return extend(base, GradientAccumulationMixin, name, "WithGradientAccumulation")
