"""Memory layout of dense weights: ``[out, in]`` (``nn.Linear``) or ``[in, out]`` (GPT-2 Conv1D).

A dense layer computes ``y = x W^T + b`` with ``W`` of shape ``[out, in]`` whatever the memory
order. ``nn.Linear`` keeps ``W`` row-major (``[out, in]`` contiguous); OpenAI GPT-2 checkpoints
(HF ``Conv1D``) store the same matrix as ``[in, out]``. The two run different BLAS kernels: for
one row of input (one token decoded with a KV cache) the ``[in, out]`` order is the faster
matrix-vector product on the CPUs we measured (docs/decoding.md, Speed), so GPT-2 keeps its
checkpoint's order instead of transposing it at load time.

:func:`store_input_major` re-stores every ``nn.Linear`` weight of a module as the transpose of a
contiguous ``[in, out]`` tensor. The parameter keeps its shape ``[out, in]`` and its values, so
``F.linear``, ``load_state_dict`` (``copy_`` keeps the destination's strides), autograd (a
gradient takes its parameter's strides), optimisers and ``.to(dtype)`` all behave as before; only
the kernel that ``F.linear`` picks changes. No weight is stored twice.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["store_input_major", "is_input_major", "concat_rows"]


def is_input_major(weight: torch.Tensor) -> bool:
    """Whether a 2-D ``[out, in]`` weight is stored as a contiguous ``[in, out]`` tensor."""
    return weight.dim() == 2 and weight.t().is_contiguous() and not weight.is_contiguous()


def store_input_major(module: nn.Module) -> nn.Module:
    """Store every ``nn.Linear`` weight inside ``module`` in ``[in, out]`` memory order, in place.

    Shapes, values, ``requires_grad`` and parameter identity in ``state_dict`` keys are kept
    (each weight becomes a new ``nn.Parameter``: build optimisers after calling this). Returns
    ``module``.
    """
    for layer in module.modules():
        if isinstance(layer, nn.Linear) and not is_input_major(layer.weight):
            w = layer.weight
            layer.weight = nn.Parameter(
                w.detach().t().contiguous().t(), requires_grad=w.requires_grad
            )
    return module


def concat_rows(weights: list[torch.Tensor]) -> torch.Tensor:
    """``torch.cat(weights)`` (stacking ``[out_i, in]`` weights into one ``[sum out_i, in]``) in
    the memory order of the parts: input-major parts give an input-major result."""
    if all(is_input_major(w) for w in weights):
        return torch.cat([w.t() for w in weights], dim=1).t()
    return torch.cat(weights)
