"""Explicit gradient regularization on parameters: :math:`L+\\lambda\\|\\nabla_\\theta L\\|^2`.

Article: https://kexue.fm/archives/7787 (从动力学角度看优化算法(五): 为什么学习率不宜过小?).
Paper: Barrett & Dherin, "Implicit Gradient Regularization", ICLR 2021, arXiv:2009.11162.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor

__all__ = ["parameter_gradient_norm", "gradient_regularized_backward"]

_METHODS = ("double_backprop", "finite_difference")


def parameter_gradient_norm(loss: Tensor, params: Iterable[Tensor]) -> Tensor:
    r""":math:`\|\nabla_\theta L\|^2` with the graph kept, so it can be added to the loss and
    back-propagated (double backprop)."""
    ps = [p for p in params if p.requires_grad]
    grads = torch.autograd.grad(loss, ps, create_graph=True, allow_unused=True)
    return sum((g * g).sum() for g in grads if g is not None)


def gradient_regularized_backward(
    closure: Callable[[], Tensor],
    params: Iterable[Tensor],
    lam: float,
    *,
    method: str = "double_backprop",
    fd_epsilon: float = 1e-3,
) -> Tensor:
    r"""Accumulate :math:`\nabla_\theta\big(L+\lambda\|\nabla_\theta L\|^2\big)` into ``p.grad``.

    Gradient descent with step γ follows, to O(γ²), the gradient flow of
    :math:`L+\tfrac{\gamma}{4}\|\nabla_\theta L\|^2` (implicit gradient regularization), so
    ``lam = lr / 4`` mimics what a finite learning rate already does; a larger λ adds more.

    * ``"double_backprop"``: exact, needs twice-differentiable ops.
    * ``"finite_difference"``: :math:`\nabla(\lambda\|g\|^2)=2\lambda Hg\approx
      \frac{2\lambda}{h}[\nabla L(\theta+hg)-g]` with :math:`h=` ``fd_epsilon`` / ‖g‖; two
      gradient evaluations, no second derivatives. Parameters are restored bit-identically.

    Pitfalls: the derivation is for full-batch GD; with minibatches it penalises each batch's
    gradient; it does not carry over to Adam as is.

    Args:
        closure: recomputes and returns the scalar loss (called once or twice).
        params: the parameters θ.
    Returns the (detached) loss at θ.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    ps = [p for p in params if p.requires_grad]
    if not ps:
        raise ValueError("no parameters that require grad")
    loss = closure()
    if method == "double_backprop":
        grads = torch.autograd.grad(loss, ps, create_graph=True, allow_unused=True)
        penalty = sum((g * g).sum() for g in grads if g is not None)
        (loss + lam * penalty).backward()
        return loss.detach()
    grads = torch.autograd.grad(loss, ps, allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(ps, grads)]
    gnorm = torch.sqrt(sum((g * g).sum() for g in grads))
    if float(gnorm) == 0.0:
        total = grads
    else:
        h = fd_epsilon / float(gnorm)
        backup = [p.detach().clone() for p in ps]
        try:
            with torch.no_grad():
                for p, g in zip(ps, grads):
                    p.add_(g, alpha=h)
            shifted = torch.autograd.grad(closure(), ps, allow_unused=True)
        finally:
            with torch.no_grad():
                for p, b in zip(ps, backup):
                    p.copy_(b)
        total = [
            g + (2 * lam / h) * ((torch.zeros_like(g) if s is None else s) - g)
            for g, s in zip(grads, shifted)
        ]
    for p, g in zip(ps, total):
        p.grad = g.detach().clone() if p.grad is None else p.grad + g.detach()
    return loss.detach()
