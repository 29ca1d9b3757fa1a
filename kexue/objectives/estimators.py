"""Gradient estimators for non-differentiable objectives: policy gradient (REINFORCE) and
zeroth-order (finite-difference random-direction) gradients.

Article: https://kexue.fm/archives/7737 (殊途同归的策略梯度与零阶优化).
Papers: Williams, "Simple statistical gradient-following algorithms for connectionist
reinforcement learning", Machine Learning 1992; Nesterov & Spokoiny, "Random Gradient-Free
Minimization of Convex Functions", Found. Comput. Math. 2017.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["policy_gradient_loss", "zeroth_order_gradient"]


def policy_gradient_loss(
    log_probs: Tensor, rewards: Tensor, baseline: str | float | Tensor | None = "mean"
) -> Tensor:
    r"""Surrogate loss whose gradient is the REINFORCE estimate
    :math:`-\mathbb E_{y\sim p_\theta}[(r-b)\nabla_\theta\log p_\theta(y|x)]`.

    Minimising it maximises the expected reward :math:`\mathbb E_{y\sim p_\theta}[r(y)]` of a
    non-differentiable reward (e.g. accuracy, BLEU). A baseline b independent of y keeps it
    unbiased (:math:`\sum_y\nabla p=0`) and reduces variance; ``"mean"`` uses the mean reward of
    the samples along the last axis (Su's practical choice: reinforce samples above average,
    weaken those below), ``None`` or 0 none, a float/tensor a fixed value.

    Args:
        log_probs: ``(..., S)`` log-probabilities of S sampled outputs (differentiable).
        rewards: ``(..., S)`` their rewards (treated as constants).
    Note the leave-one-out issue: the ``"mean"`` baseline includes the sample itself, which
    biases the estimate by a factor (S-1)/S; use S >= 2 and a fixed baseline if exactness
    matters.
    """
    if log_probs.shape != rewards.shape:
        raise ValueError(
            f"log_probs {tuple(log_probs.shape)} and rewards {tuple(rewards.shape)} differ"
        )
    r = rewards.detach().to(log_probs.dtype)
    if not bool(torch.isfinite(r).all()):
        raise ValueError("rewards contain non-finite values")
    if isinstance(baseline, str):
        if baseline != "mean":
            raise ValueError(f"baseline must be 'mean', a number, a tensor or None: {baseline!r}")
        b = r.mean(-1, keepdim=True)
    elif baseline is None:
        b = 0.0
    else:
        b = baseline
    return -((r - b) * log_probs).mean()


def zeroth_order_gradient(
    f: Callable[[Tensor], Tensor],
    x: Tensor,
    num_samples: int = 100,
    epsilon: float = 1e-3,
    *,
    baseline: bool = True,
    batched: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Zeroth-order gradient estimate

    .. math:: \tilde\nabla f(x)=\mathbb E_{u\sim\mathcal N(0,I)}
              \Big[\frac{f(x+\varepsilon u)-f(x)}{\varepsilon}u\Big].

    Needs only function values, so f may be non-differentiable (argmax accuracy, a black box).
    It tends to ∇f as ε → 0 for smooth f. The ``-f(x)`` term has zero mean and acts as a
    baseline (variance reduction; ``baseline=False`` drops it). The variance grows with the
    dimension, so keep it to few parameters. 7737 shows that its expectation over a softmax
    classifier's argmax regions approximates the policy gradient.

    Args:
        f: scalar function of a tensor shaped like ``x``; with ``batched=True`` it takes
            ``(S, *x.shape)`` and returns ``(S,)``.
        x: the point.
        num_samples: S random directions.
    """
    if num_samples < 1:
        raise ValueError("num_samples must be >= 1")
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    with torch.no_grad():
        u = torch.randn((num_samples,) + tuple(x.shape), generator=generator, dtype=x.dtype)
        u = u.to(x.device)
        pts = x.unsqueeze(0) + epsilon * u
        if batched:
            vals = f(pts)
        else:
            vals = torch.stack([torch.as_tensor(f(p), dtype=x.dtype) for p in pts])
        vals = vals.reshape(num_samples).to(x.dtype)
        if baseline:
            vals = vals - torch.as_tensor(f(x.unsqueeze(0))[0] if batched else f(x), dtype=x.dtype)
        weights = (vals / epsilon).reshape((num_samples,) + (1,) * x.dim())
        return (weights * u).mean(0)
