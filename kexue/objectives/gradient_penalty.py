"""Gradient penalty on inputs or embeddings: the first-order form of adversarial training.

Articles: https://kexue.fm/archives/7234 (对抗训练浅谈) and https://kexue.fm/archives/7466
(泛化性乱弹). Related: Ross & Doshi-Velez, "Improving the Adversarial Robustness and
Interpretability of Deep Neural Networks by Regularizing their Input Gradients", AAAI 2018.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["gradient_penalty"]


def gradient_penalty(
    loss: Tensor,
    wrt: Tensor | nn.Embedding | Sequence[Tensor],
    epsilon: float = 1.0,
    *,
    squared: bool = True,
    create_graph: bool = True,
) -> Tensor:
    r"""Penalty to **add** to ``loss``: :math:`\tfrac12\varepsilon\|\nabla_x L\|^2` (``squared``)
    or :math:`\varepsilon\|\nabla_x L\|`.

    A first-order expansion of adversarial training gives
    :math:`\nabla_\theta L(x+\Delta)\approx\nabla_\theta(L+\tfrac12\varepsilon\|\nabla_xL\|^2)`
    for :math:`\Delta=\varepsilon\nabla_xL`, and
    :math:`\approx\nabla_\theta(L+\varepsilon\|\nabla_xL\|)` for FGM's normalised
    :math:`\Delta=\varepsilon\nabla_xL/\|\nabla_xL\|`, with Δ held constant in both cases.
    Samples should sit at the bottom of their "pit". Su's IFLYTEK/TNEWS script uses the
    squared form with ε = 1.

    Args:
        loss: scalar loss.
        wrt: an ``nn.Embedding`` (penalise the gradient w.r.t. its **dense** weight matrix,
            i.e. duplicate tokens summed first — Keras's IndexedSlices version squares before
            summing, a pitfall 7234's code has), an input tensor with ``requires_grad``, or a
            sequence of tensors (norm over all of them).
        create_graph: keep the graph so the penalty can be back-propagated (double backprop);
            the model's ops must be twice differentiable.
    """
    if not isinstance(loss, Tensor) or loss.dim() != 0:
        raise ValueError("loss must be a scalar tensor")
    if isinstance(wrt, nn.Embedding):
        tensors = [wrt.weight]
    elif isinstance(wrt, Tensor):
        tensors = [wrt]
    elif isinstance(wrt, Sequence) and wrt and all(isinstance(t, Tensor) for t in wrt):
        tensors = list(wrt)
    else:
        raise TypeError("wrt must be an nn.Embedding, a tensor or a sequence of tensors")
    if not all(t.requires_grad for t in tensors):
        raise ValueError("every tensor in wrt must require grad (and take part in the loss)")
    if not isinstance(epsilon, (int, float)) or not 0 <= epsilon < float("inf"):
        raise ValueError(f"epsilon must be finite and >= 0, got {epsilon!r}")
    grads = torch.autograd.grad(loss, tensors, create_graph=create_graph, retain_graph=True)
    sq = sum((g * g).sum() for g in grads)
    if squared:
        return 0.5 * epsilon * sq
    return epsilon * sq.clamp_min(torch.finfo(sq.dtype).tiny).sqrt()
