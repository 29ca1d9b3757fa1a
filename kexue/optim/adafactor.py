"""AdaFactor: adaptive learning rates with sublinear memory cost.

Article: https://kexue.fm/archives/7302 (AdaFactor优化器浅析, 2020-03-23).
Paper: Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost",
ICML 2018, arXiv:1804.04235.
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


def factored_dims(
    shape: torch.Size | tuple[int, ...], min_dim_size_to_factor: int
) -> tuple[int, int] | None:
    """The two largest axes ``(i, j)`` (``i < j``) to factor over, or ``None`` for a full moment.

    As bert4keras: tensors of rank >= 2 whose second-largest axis has at least
    ``min_dim_size_to_factor`` entries are factored over their two largest axes (ties go to
    the later axes, so a matrix is always factored over its rows and columns).
    """
    if len(shape) < 2:
        return None
    order = sorted(range(len(shape)), key=lambda d: (shape[d], d), reverse=True)
    a, b = order[0], order[1]
    if shape[b] < min_dim_size_to_factor:
        return None
    return (min(a, b), max(a, b))


def adafactor_beta2_hat(step: int, beta2: float | None, decay_rate: float = 0.8) -> float:
    """Effective second-moment decay at step ``t`` (1-based).

    ``beta2 is None``: ``1 - t^(-decay_rate)`` (the paper's schedule, c = 0.8).
    Otherwise the bias-corrected constant decay ``beta2 (1 - beta2^(t-1)) / (1 - beta2^t)``,
    which is Adam's ``1/(1 - beta2^t)`` correction written as a time-varying average.
    Both are 0 at ``t = 1``.
    """
    if beta2 is None:
        return 1.0 - step ** (-decay_rate)
    return beta2 * -math.expm1((step - 1) * math.log(beta2)) / -math.expm1(step * math.log(beta2))


def _rms(x: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(x) / math.sqrt(x.numel())


def _factored_direction(g, state, w, eps1, ws):
    """Update the row/column averages; return ``(u, a, sum((a u)^2))`` where
    ``a * u = g / sqrt(v_hat)``, ``v_hat = row * col / mean(row)``, ``u = g * rsqrt(col)`` and
    ``a = rsqrt(row / mean(row))`` (applied later inside one ``addcmul``).

    ``ws`` is a reused scratch tensor of g's shape (fresh full-size temporaries cost a page
    fault per element on CPU, which dominated the step time).
    """
    i, j = factored_dims(g.shape, 0)
    row, col = state["exp_avg_sq_row"], state["exp_avg_sq_col"]
    g2 = torch.mul(g, g, out=ws)
    if g.dim() == 2:  # (i, j) == (0, 1): BLAS matrix-vector products for the sums
        row_sum = torch.mv(g2, g2.new_ones(g.shape[1])).unsqueeze(1)
        col_sum = torch.mv(g2.t(), g2.new_ones(g.shape[0])).unsqueeze(0)
    else:
        row_sum = g2.sum(dim=j, keepdim=True)
        col_sum = g2.sum(dim=i, keepdim=True)
    row.mul_(1.0 - w).add_(row_sum.div_(g.shape[j]).add_(eps1), alpha=w)
    col.mul_(1.0 - w).add_(col_sum.div_(g.shape[i]).add_(eps1), alpha=w)
    a = torch.rsqrt(row / row.mean(dim=i, keepdim=True))
    b = torch.rsqrt(col)
    if g.dim() == 2:
        weighted = torch.mv(g2, (b * b).squeeze(0)).unsqueeze(1)  # sum_j g^2 b^2
    else:
        weighted = g2.mul_(b * b).sum(dim=j, keepdim=True)
    sum_u2 = float(torch.sum(weighted * (a * a)))
    u = torch.mul(g, b, out=ws)
    return u, a, sum_u2


def _full_direction(g, state, w, eps1, ws):
    """Unfactored moving average of ``g^2 + eps1``; returns ``(u, None, sum(u^2))``."""
    v = state["exp_avg_sq"]
    v.mul_(1.0 - w).addcmul_(g, g, value=w).add_(eps1 * w)
    u = torch.rsqrt(v, out=ws).mul_(g)
    return u, None, float(torch.linalg.vector_norm(u)) ** 2


class AdaFactor(KexueOptimizer):
    r"""AdaFactor (Shazeer & Stern 2018) as Su's article derives it.

    For a gradient ``g`` of an m x n matrix (no momentum)::

        beta2_hat_t = 1 - t^(-0.8)                                  (beta2=None)
        r_t = beta2_hat_t r_{t-1} + (1 - beta2_hat_t) mean_j(g^2 + eps1)     # m numbers
        c_t = beta2_hat_t c_{t-1} + (1 - beta2_hat_t) mean_i(g^2 + eps1)     # n numbers
        v_hat_ij = r_i c_j / mean_i(r)                 # I-divergence optimal rank-1 fit
        u = g / sqrt(v_hat)
        u_hat = u / max(1, RMS(u) / clip_threshold)             # update clipping
        theta_t = theta_{t-1} - alpha_t * max(eps2, RMS(theta_{t-1})) * u_hat

    ``alpha_t = lr``, or with a relative step ``min(lr or 1e-2, 1/sqrt(t))``. Vectors (and
    tensors whose second-largest axis is below ``min_dim_size_to_factor``) keep the full
    moving average of ``g^2 + eps1``. Tensors of higher rank are factored over their two
    largest axes (as bert4keras), the other axes acting as a batch. With ``beta1`` set,
    ``m_t = beta1 m_{t-1} + (1 - beta1) u_hat`` (the clipped update, before parameter
    scaling, as in the paper's Algorithm 4) replaces ``u_hat``.

    ``eps1`` sits on ``g^2`` (as the paper and ``transformers`` do; Su notes it is deliberate),
    not inside the square root. The optimizer state of an m x n matrix holds m + n numbers
    (plus m x n for momentum).

    Pitfalls (from the article): use a large batch, since the factorisation error adds to the
    gradient noise; the learning rate wants to be larger than Adam's (about 1e-3 even when
    fine-tuning). Su's own first releases lacked the ``1 - beta2`` factor and computed a sum of
    squares for "RMS"; this implementation follows the paper.

    Args:
        params: parameters or param groups.
        lr: learning rate; ``None`` means the relative step ``min(1e-2, 1/sqrt(t))``.
        beta1: momentum coefficient in [0, 1), or ``None``/0 for none (saves m*n numbers).
        beta2: ``None`` for ``1 - t^(-decay_rate)``, or a constant in (0, 1) (bias-corrected).
        eps: ``(eps1, eps2)``: eps1 regularises ``g^2``; eps2 floors the parameter scale.
        clip_threshold: ``d`` of the update clipping, > 0.
        scale_parameter: multiply the step by ``max(eps2, RMS(theta))``.
        relative_step: use ``min(lr, 1/sqrt(t))`` (``lr=None`` implies it, capped at 1e-2).
        min_dim_size_to_factor: smallest second-largest axis that is factored (default 128).
        decay_rate: ``c`` of ``1 - t^(-c)``, in (0, 1].
        nonfinite: ``"skip"`` (default): a parameter whose gradient holds a NaN or an
            infinity is not updated and its statistics are left untouched (one NaN would
            otherwise spread through the factored row/column averages to the whole matrix),
            a ``RuntimeWarning`` names it and ``state[p]["nonfinite_skips"]`` counts it
            (:meth:`nonfinite_skips`); ``"raise"``: ``FloatingPointError`` before any
            parameter is updated.
    """

    _float32_state_keys = frozenset({"exp_avg", "exp_avg_sq", "exp_avg_sq_row", "exp_avg_sq_col"})

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | None = 1e-3,
        beta1: float | None = None,
        beta2: float | None = None,
        eps: tuple[float, float] = (1e-30, 1e-3),
        clip_threshold: float = 1.0,
        scale_parameter: bool = True,
        relative_step: bool = False,
        min_dim_size_to_factor: int = 128,
        decay_rate: float = 0.8,
        *,
        nonfinite: str = "skip",
    ) -> None:
        defaults = {
            "lr": lr,
            "beta1": beta1,
            "beta2": beta2,
            "eps": eps,
            "clip_threshold": clip_threshold,
            "scale_parameter": scale_parameter,
            "relative_step": relative_step,
            "min_dim_size_to_factor": min_dim_size_to_factor,
            "decay_rate": decay_rate,
            "nonfinite": nonfinite,
        }
        self._workspace: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"], allow_none=True)
        if group["beta1"] is not None:
            group["beta1"] = check_number("beta1", group["beta1"], 0.0, 1.0, high_open=True)
        if group["beta2"] is not None:
            group["beta2"] = check_number("beta2", group["beta2"], 0.0, 1.0, low_open=True,
                                          high_open=True)
        eps = group["eps"]
        if not isinstance(eps, tuple | list) or len(eps) != 2:
            raise TypeError(f"eps must be a pair (eps1, eps2), got {eps!r}")
        group["eps"] = (
            check_number("eps1", eps[0], 0.0, math.inf, high_open=True),
            check_number("eps2", eps[1], 0.0, math.inf, high_open=True),
        )
        group["clip_threshold"] = check_number("clip_threshold", group["clip_threshold"], 0.0,
                                               math.inf, low_open=True)
        for flag in ("scale_parameter", "relative_step"):
            if not isinstance(group[flag], bool):
                raise TypeError(f"{flag} must be a bool, got {group[flag]!r}")
        size = group["min_dim_size_to_factor"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"min_dim_size_to_factor must be an int >= 0, got {size!r}")
        group["decay_rate"] = check_number("decay_rate", group["decay_rate"], 0.0, 1.0,
                                           low_open=True)

    def _step_size(self, group: dict[str, Any], step: int) -> float:
        lr = group["lr"]
        if lr is None or group["relative_step"]:
            return min(1e-2 if lr is None else lr, 1.0 / math.sqrt(step))
        return lr

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One AdaFactor update of every parameter that has a gradient; returns ``closure()``."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        skipped = self._skipped()
        for group in self.param_groups:
            eps1, eps2 = group["eps"]
            beta1 = group["beta1"] or 0.0
            for p in group["params"]:
                if p.grad is None or p.numel() == 0 or id(p) in skipped:
                    continue
                grad = p.grad
                if grad.is_sparse:
                    raise ValueError(
                        "AdaFactor does not support sparse gradients; wrap it with "
                        "extend_with_lazy_optimization to densify them"
                    )
                state = self.state[p]
                if "step" not in state:
                    self._init_state(state, p, group)
                state["step"] += 1
                t = state["step"]
                w = 1.0 - adafactor_beta2_hat(t, group["beta2"], group["decay_rate"])
                master = p.float() if low_precision(p) else p
                g = grad.to(master.dtype)

                alpha = self._step_size(group, t)
                if group["scale_parameter"]:
                    alpha *= max(eps2, float(_rms(master)))
                ws = self._scratch(g)
                if "exp_avg_sq_row" in state:
                    u, a, sum_u2 = _factored_direction(g, state, w, eps1, ws)
                else:
                    u, a, sum_u2 = _full_direction(g, state, w, eps1, ws)
                # u_hat = a * u / clip, with RMS(a * u) = sqrt(sum_u2 / numel)
                clip = max(1.0, math.sqrt(sum_u2 / g.numel()) / group["clip_threshold"])
                if beta1 > 0.0:
                    if "exp_avg" not in state:
                        state["exp_avg"] = torch.zeros_like(p, dtype=state_dtype(p))
                    m = state["exp_avg"].mul_(beta1)
                    if a is None:
                        m.add_(u, alpha=(1.0 - beta1) / clip)
                    else:
                        m.addcmul_(u, a, value=(1.0 - beta1) / clip)
                    master.add_(m, alpha=-alpha)
                elif a is None:
                    master.add_(u, alpha=-alpha / clip)
                else:
                    master.addcmul_(u, a, value=-alpha / clip)
                if master is not p:
                    p.copy_(master)
        return loss

    def _scratch(self, g: torch.Tensor) -> torch.Tensor:
        """A reusable scratch tensor shaped like ``g`` (one buffer per dtype and device, as
        large as the largest gradient seen; not part of the optimizer state)."""
        key = (g.dtype, g.device)
        buf = self._workspace.get(key)
        if buf is None or buf.numel() < g.numel():
            buf = torch.empty(g.numel(), dtype=g.dtype, device=g.device)
            self._workspace[key] = buf
        return buf[: g.numel()].view(g.shape)

    def _init_state(self, state: dict[str, Any], p: torch.Tensor, group: dict[str, Any]) -> None:
        dtype = state_dtype(p)
        state["step"] = 0
        dims = factored_dims(p.shape, group["min_dim_size_to_factor"])
        if dims is None:
            state["exp_avg_sq"] = torch.zeros_like(p, dtype=dtype)
        else:
            i, j = dims
            row_shape = list(p.shape)
            row_shape[j] = 1
            col_shape = list(p.shape)
            col_shape[i] = 1
            state["exp_avg_sq_row"] = torch.zeros(row_shape, dtype=dtype, device=p.device)
            state["exp_avg_sq_col"] = torch.zeros(col_shape, dtype=dtype, device=p.device)
        if group["beta1"]:
            state["exp_avg"] = torch.zeros_like(p, dtype=dtype)
