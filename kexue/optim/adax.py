"""AdaX: adaptive gradient descent with exponential long-term memory.

Article: https://kexue.fm/archives/7387 (AdaX优化器浅析, 2020-05-11).
Paper: Li, Zhang, Wang, Luo, "AdaX: Adaptive Gradient Descent with Exponential Long Term
Memory", arXiv:2004.09740.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from kexue.optim._common import (
    KexueOptimizer,
    check_lr,
    check_number,
    low_precision,
    state_dtype,
)

# foreach=None picks the multi-tensor kernels when the group's mean tensor is smaller than this.
_FOREACH_MAX_MEAN_NUMEL = 65536
# Beyond this exponent, expm1(x) == exp(x) to double precision and exp(-x) is used instead.
_EXPM1_LIMIT = 700.0


def adax_beta2_hat(step: int, beta2: float) -> float:
    """AdaX's effective second-moment decay at step ``t`` (1-based).

    ``beta2_hat_t = 1 - beta2 / ((1 + beta2)^t - 1)``; it is 0 at ``t = 1`` and tends to 1.
    Computed as ``1 - adax_ema_weight(t, beta2)``.
    """
    return 1.0 - adax_ema_weight(step, beta2)


def adax_ema_weight(step: int, beta2: float) -> float:
    """``1 - beta2_hat_t = beta2 / ((1 + beta2)^t - 1)`` without overflow or cancellation.

    ``(1 + beta2)^t - 1`` is evaluated as ``expm1(t * log1p(beta2))`` (no cancellation for
    small t), and for ``t * log1p(beta2) > 700`` as ``exp(-t * log1p(beta2))`` (no overflow):
    the weight is then below ``1e-300`` and simply underflows towards zero.
    """
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    x = step * math.log1p(beta2)
    if x > _EXPM1_LIMIT:
        return beta2 * math.exp(-x)
    return beta2 / math.expm1(x)


class AdaX(KexueOptimizer):
    r"""AdaX (Li et al. 2020) in the numerically stable form of Su's article.

    The article's update, with gradient :math:`g_t`::

        m_t     = beta1 * m_{t-1} + (1 - beta1) * g_t          (no bias correction on m)
        v_t     = (1 + beta2) * v_{t-1} + beta2 * g_t^2
        v_hat_t = v_t / ((1 + beta2)^t - 1)
        theta_t = theta_{t-1} - lr * m_t / (sqrt(v_hat_t) + eps)

    ``beta2`` is a small *growth rate* (default 1e-4), not Adam's 0.999. The raw ``v_t`` grows
    like ``(1 + beta2)^t`` and overflows float32 after about 8.9e5 steps, so, following the
    article's rewrite, this class stores ``v_hat`` itself as a moving average with a
    time-varying coefficient::

        v_hat_t = beta2_hat_t * v_hat_{t-1} + (1 - beta2_hat_t) * g_t^2,
        beta2_hat_t = 1 - beta2 / ((1 + beta2)^t - 1)

    which is algebraically identical (``beta2_hat_1 = 0``, ``beta2_hat_t -> 1``: late in
    training the adaptive scaling freezes and AdaX tends to SGD with a fixed per-coordinate
    rate). The coefficient is computed in float64 with ``expm1``/``log1p`` (see
    :func:`adax_ema_weight`), so it neither cancels at small t nor overflows at large t.

    Where eps sits: the article writes ``m / sqrt(v_hat + eps)``; Su's released code (and this
    class, like Adam) uses ``m / (sqrt(v_hat) + eps)`` with ``eps = 1e-6``. The two agree at
    ``eps = 0``; with ``eps`` inside the root the floor would be ``sqrt(1e-6) = 1e-3``.

    Pitfalls: there is no bias correction on ``m``, so the first update is
    ``-lr * (1 - beta1) * sign(g_1)`` (for eps -> 0), ten times smaller than Adam's.

    Args:
        params: parameters or param groups (``model.named_parameters()`` works too).
        lr: learning rate, >= 0.
        betas: ``(beta1, beta2)`` with ``0 <= beta1 < 1`` and ``0 < beta2 < 1``.
        eps: added to ``sqrt(v_hat)``, >= 0.
        foreach: use the multi-tensor (``torch._foreach_*``) kernels; ``None`` picks them for
            groups of small tensors and a per-tensor loop with one reused scratch buffer for
            large ones (faster on CPU, where fresh full-size temporaries are page-faulted).
        nonfinite: ``"skip"`` (default): a parameter whose gradient holds a NaN or an
            infinity is not updated, its state is left untouched, a ``RuntimeWarning`` names
            it and ``state[p]["nonfinite_skips"]`` counts it (:meth:`nonfinite_skips`);
            ``"raise"``: ``FloatingPointError`` before any parameter is updated.

    float16/bfloat16 parameters keep ``m`` and ``v_hat`` in float32 and are updated through a
    float32 copy. Sparse gradients raise ``ValueError`` (use ``extend_with_lazy_optimization``).
    """

    _float32_state_keys = frozenset({"exp_avg", "exp_avg_sq"})

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 1e-4),
        eps: float = 1e-6,
        *,
        foreach: bool | None = None,
        nonfinite: str = "skip",
    ) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "foreach": foreach,
                    "nonfinite": nonfinite}
        self._workspace: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        betas = group["betas"]
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        b1 = check_number("beta1", betas[0], 0.0, 1.0, high_open=True)
        b2 = check_number("beta2", betas[1], 0.0, 1.0, low_open=True, high_open=True)
        group["betas"] = (b1, b2)
        group["eps"] = check_number("eps", group["eps"], 0.0, math.inf, high_open=True)
        if group["foreach"] not in (None, True, False):
            raise TypeError(f"foreach must be None or a bool, got {group['foreach']!r}")

    def _scratch(self, like: torch.Tensor) -> torch.Tensor:
        """A reusable scratch tensor shaped like ``like`` (one buffer per dtype and device, as
        large as the largest parameter; not part of the optimizer state). Fresh full-size
        temporaries cost a page fault per element on CPU."""
        key = (like.dtype, like.device)
        buf = self._workspace.get(key)
        if buf is None or buf.numel() < like.numel():
            buf = torch.empty(like.numel(), dtype=like.dtype, device=like.device)
            self._workspace[key] = buf
        return buf[: like.numel()].view(like.shape)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One AdaX update of every parameter that has a gradient; returns ``closure()``."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        skipped = self._skipped()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            params, grads, exp_avgs, exp_avg_sqs, weights, masters = [], [], [], [], [], []
            for p in group["params"]:
                if p.grad is None or id(p) in skipped:
                    continue
                grad = p.grad
                if grad.is_sparse:
                    raise ValueError(
                        "AdaX does not support sparse gradients; wrap it with "
                        "extend_with_lazy_optimization to update only the touched rows"
                    )
                state = self.state[p]
                if "step" not in state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, dtype=state_dtype(p))
                    state["exp_avg_sq"] = torch.zeros_like(p, dtype=state_dtype(p))
                state["step"] += 1
                weights.append(adax_ema_weight(state["step"], beta2))
                if low_precision(p):
                    master = p.float()
                    masters.append((p, master))
                    params.append(master)
                    grads.append(grad.float())
                else:
                    params.append(p)
                    grads.append(grad)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
            if not params:
                continue
            foreach = group["foreach"]
            if foreach is None:  # many small tensors: multi-tensor kernels; big ones: a loop
                foreach = sum(p.numel() for p in params) < _FOREACH_MAX_MEAN_NUMEL * len(params)
            update = _adax_foreach if foreach else _adax_single
            update(params, grads, exp_avgs, exp_avg_sqs, weights,
                   lr=group["lr"], beta1=beta1, eps=group["eps"], scratch=self._scratch)
            for p, master in masters:
                p.copy_(master)
        return loss


def _adax_single(params, grads, exp_avgs, exp_avg_sqs, weights, *, lr, beta1, eps,
                 scratch) -> None:
    for p, g, m, v, w in zip(params, grads, exp_avgs, exp_avg_sqs, weights):
        m.mul_(beta1).add_(g, alpha=1.0 - beta1)
        v.mul_(1.0 - w).addcmul_(g, g, value=w)
        denom = torch.sqrt(v, out=scratch(v)).add_(eps)
        p.addcdiv_(m, denom, value=-lr)


def _adax_foreach(params, grads, exp_avgs, exp_avg_sqs, weights, *, lr, beta1, eps,
                  scratch) -> None:
    torch._foreach_mul_(exp_avgs, beta1)
    torch._foreach_add_(exp_avgs, grads, alpha=1.0 - beta1)
    torch._foreach_mul_(exp_avg_sqs, [1.0 - w for w in weights])
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, weights)
    denom = torch._foreach_sqrt(exp_avg_sqs)
    torch._foreach_add_(denom, eps)
    torch._foreach_addcdiv_(params, exp_avgs, denom, -lr)
