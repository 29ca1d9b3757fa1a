"""Shared input checks and reductions for the losses of ``kexue.objectives`` (private)."""

from __future__ import annotations

import torch
from torch import Tensor

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def check_finite(name: str, x: Tensor) -> None:
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")


def check_float(name: str, x: Tensor) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")


def flatten_logits(logits: Tensor, target: Tensor, name: str = "logits") -> tuple[Tensor, Tensor]:
    """``(N, C, *d)`` logits and ``(N, *d)`` integer targets -> ``(M, C)`` and ``(M,)``.

    Follows the shape convention of ``torch.nn.functional.cross_entropy`` (class dim 1).
    """
    check_float(name, logits)
    if not isinstance(target, Tensor):
        raise TypeError(f"target must be a torch.Tensor, got {type(target).__name__}")
    if target.is_floating_point() or target.dtype == torch.bool:
        raise TypeError(f"target must hold integer class indices, got dtype {target.dtype}")
    if logits.dim() < 2:
        raise ValueError(f"{name} must have shape (N, C, ...), got {tuple(logits.shape)}")
    expected = (logits.shape[0],) + tuple(logits.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(
            f"target shape {tuple(target.shape)} does not match {name} shape "
            f"{tuple(logits.shape)}; expected {expected}"
        )
    check_finite(name, logits)
    c = logits.shape[1]
    flat = logits.movedim(1, -1).reshape(-1, c)
    return flat, target.reshape(-1)


def check_targets(target: Tensor, num_classes: int, ignore_index: int) -> Tensor:
    """Validate class indices; return the boolean mask of non-ignored positions."""
    keep = target != ignore_index
    valid = target[keep]
    if valid.numel() and (int(valid.min()) < 0 or int(valid.max()) >= num_classes):
        raise ValueError(
            f"target values must lie in [0, {num_classes - 1}] (or equal ignore_index="
            f"{ignore_index}); got min {int(valid.min())}, max {int(valid.max())}"
        )
    return keep


def reduce_loss(
    loss: Tensor, keep: Tensor, reduction: str, shape: tuple[int, ...], weight: Tensor | None = None
) -> Tensor:
    """Reduce per-position losses like ``F.cross_entropy``: ignored positions count zero,

    ``mean`` divides by the number (or total ``weight``) of kept positions.
    """
    loss = torch.where(keep, loss, torch.zeros_like(loss))
    if reduction == "none":
        return loss.reshape(shape)
    if reduction == "sum":
        return loss.sum()
    if weight is None:
        return loss.sum() / keep.sum()
    return loss.sum() / torch.where(keep, weight, torch.zeros_like(weight)).sum()


def gather_target(flat: Tensor, target: Tensor, keep: Tensor) -> Tensor:
    """``flat[i, target[i]]`` with ignored positions mapped to class 0 (masked later)."""
    safe = torch.where(keep, target, torch.zeros_like(target))
    return flat.gather(1, safe.unsqueeze(1)).squeeze(1), safe


def check_prior(prior: Tensor | list | tuple, num_classes: int | None = None) -> Tensor:
    """A class prior: 1-D, positive, finite, summing to 1 (within 1e-4)."""
    p = torch.as_tensor(prior)
    if not p.is_floating_point():
        p = p.to(torch.get_default_dtype())
    if p.dim() != 1:
        raise ValueError(
            f"prior must be 1-D (one probability per class), got shape {tuple(p.shape)}"
        )
    if num_classes is not None and p.numel() != num_classes:
        raise ValueError(f"prior has {p.numel()} entries but the logits have {num_classes} classes")
    if not bool(torch.isfinite(p).all()):
        raise ValueError("prior contains non-finite values")
    if bool((p <= 0).any()):
        raise ValueError(
            "prior must be strictly positive (a zero-probability class makes log(prior) = -inf); "
            "smooth the class counts, e.g. counts + 1"
        )
    if abs(float(p.double().sum()) - 1.0) > 1e-4:
        raise ValueError(f"prior must sum to 1, got {float(p.double().sum()):.6g}")
    return p


def prior_from_counts(counts: Tensor | list | tuple) -> Tensor:
    """Normalise non-negative class counts into a prior (raises on zeros or negatives)."""
    c = torch.as_tensor(counts, dtype=torch.float64)
    if c.dim() != 1:
        raise ValueError(f"counts must be 1-D, got shape {tuple(c.shape)}")
    if not bool(torch.isfinite(c).all()) or bool((c <= 0).any()):
        raise ValueError("class counts must be finite and positive (add 1 to unseen classes)")
    return c / c.sum()
