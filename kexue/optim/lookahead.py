"""Lookahead as an optimizer wrapper (bert4keras ``extend_with_lookahead``)."""

from __future__ import annotations

from typing import Any

from torch.optim import Optimizer

from kexue.optim._common import check_number, state_dtype
from kexue.optim._extension import OptimizerExtension, StepContext, extend


class LookaheadMixin(OptimizerExtension):
    """Lookahead: every ``k`` updates, ``slow += alpha * (fast - slow)`` and ``fast <- slow``.

    The wrapped optimizer moves the "fast" weights; the "slow" weights start at the parameter
    values before the first update and are pulled towards the fast ones once every
    ``steps_per_slow_update`` (k, default 5) updates, by ``slow_step_size`` (alpha, default 0.5),
    after which the fast weights restart from the slow ones.
    Zhang, Lucas, Hinton, Ba, "Lookahead Optimizer: k steps forward, 1 step back",
    arXiv:1907.08610; bert4keras ``extend_with_lookahead``.

    The slow weights (float32 for low-precision parameters) live in ``extension_state`` and
    are saved in ``state_dict``.
    """

    _ext_options = {"steps_per_slow_update": 5, "slow_step_size": 0.5}
    _ext_counters = ("lookahead_step",)

    def _ext_check_group(self, group: dict[str, Any]) -> None:
        super()._ext_check_group(group)
        k = group["steps_per_slow_update"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"steps_per_slow_update must be an int >= 1, got {k!r}")
        group["slow_step_size"] = check_number("slow_step_size", group["slow_step_size"], 0.0, 1.0)

    def _ext_prepare(self, ctx: StepContext) -> None:
        super()._ext_prepare(ctx)
        for group in self.param_groups:  # type: ignore[attr-defined]
            for p in group["params"]:
                ext = self.extension_state.setdefault(p, {})
                if "slow_weight" not in ext:
                    ext["slow_weight"] = p.detach().to(state_dtype(p), copy=True)

    def _ext_after_update(self, ctx: StepContext) -> None:
        super()._ext_after_update(ctx)
        for group in self.param_groups:  # type: ignore[attr-defined]
            group["lookahead_step"] += 1
            if group["lookahead_step"] % group["steps_per_slow_update"]:
                continue
            alpha = group["slow_step_size"]
            for p in group["params"]:
                slow = self.extension_state[p]["slow_weight"]
                slow.add_(p.to(slow.dtype) - slow, alpha=alpha)
                p.copy_(slow)


def extend_with_lookahead(base: type[Optimizer], name: str | None = None) -> type[Optimizer]:
    """Return ``base`` extended with Lookahead (options ``steps_per_slow_update``,
    ``slow_step_size``). See :class:`LookaheadMixin`.

    Example::

        AdaXLA = extend_with_lookahead(AdaX)
        opt = AdaXLA(model.parameters(), lr=1e-3, steps_per_slow_update=5, slow_step_size=0.5)
    """
    return extend(base, LookaheadMixin, name, "WithLookahead")
