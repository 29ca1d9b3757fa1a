"""Logits hooks: callables that constrain or reshape the next-token logits.

Two kinds of hook, freely mixed in one list:

- a :class:`StateHook` (subclass it, or wrap a function with :func:`state_hook`) is called as
  ``hook(logits, state) -> logits`` with the batch's
  :class:`~kexue.decoding.state.DecodeState`: the per-row prompt, generated tokens and recipe
  state (which beam search reorders with its beams); it may update that recipe state and end
  rows (``state.finish(rows)``);
- any other callable is a plain hook, ``hook(step, generated_ids, logits) -> logits``:

  - ``step``: how many tokens have been generated so far (0 for the first new token);
  - ``generated_ids``: ``(rows, step)`` int64, the tokens generated so far for every row;
  - ``logits``: ``(rows, vocab)`` float, the next-token logits (before any normalisation).

Rows are laid out input-major: row ``r`` belongs to input ``r // width`` where ``width`` is
``num_beams`` (beam search), ``n`` (sampling) or 1 (greedy). A hook must return a tensor of the
same shape and must not modify its argument in place. Several hooks compose left to right.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor

LogitsHook = Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor]

__all__ = [
    "LogitsHook",
    "StateHook",
    "state_hook",
    "apply_hooks",
    "run_hooks",
    "SuppressTokens",
    "AllowTokens",
    "TopKMask",
]


class StateHook:
    """A hook that sees the per-row decoding state: override ``__call__(logits, state)``.

    ``logits`` is ``(rows, vocab)`` (before any normalisation); ``state`` is the
    :class:`~kexue.decoding.state.DecodeState` of the batch, whose ``generated[:, -1]`` is the
    token each row chose at the previous step (rows already follow their beams), so a hook can
    advance its per-row recipe state (``state.user`` or ``state.extra``) by that token and then
    mask the logits. Return a tensor of the same shape; do not modify ``logits`` in place.
    """

    def __call__(self, logits: torch.Tensor, state) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


class _FunctionStateHook(StateHook):
    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, logits: torch.Tensor, state) -> torch.Tensor:
        return self.fn(logits, state)

    def __repr__(self) -> str:
        return f"state_hook({getattr(self.fn, '__name__', self.fn)!r})"


def state_hook(fn: Callable) -> StateHook:
    """Mark ``fn(logits, state) -> logits`` as a :class:`StateHook` (usable as a decorator)."""
    if not callable(fn):
        raise TypeError(f"state_hook needs a callable fn(logits, state), got {fn!r}")
    return _FunctionStateHook(fn)


def _checked(hook, out, logits: torch.Tensor) -> torch.Tensor:
    if not isinstance(out, torch.Tensor) or out.shape != logits.shape:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"logits hook {hook!r} must return a tensor of shape {tuple(logits.shape)}, got {got}"
        )
    return out


def run_hooks(hooks: Sequence, state, logits: torch.Tensor) -> torch.Tensor:
    """Run ``hooks`` in order on ``logits``: state hooks get ``(logits, state)``, plain hooks
    ``(state.step, state.generated, logits)``; each result's shape is checked."""
    for hook in hooks:
        if isinstance(hook, StateHook):
            out = hook(logits, state)
        else:
            out = hook(state.step, state.generated, logits)
        logits = _checked(hook, out, logits)
    return logits


def apply_hooks(
    hooks: Sequence[LogitsHook], step: int, generated_ids: torch.Tensor, logits: torch.Tensor
) -> torch.Tensor:
    """Run plain hooks in order, checking that each returns a tensor of the input's shape."""
    for hook in hooks:
        logits = _checked(hook, hook(step, generated_ids, logits), logits)
    return logits


def _ids_tensor(ids: Iterable[int], name: str) -> torch.Tensor:
    ids = [int(i) for i in ids]
    if any(i < 0 for i in ids):
        raise ValueError(f"{name}: token ids must be >= 0, got {ids}")
    return torch.tensor(sorted(set(ids)), dtype=torch.long)


class SuppressTokens:
    """Set the logits of ``token_ids`` to ``-inf`` at every step (they can never be emitted)."""

    def __init__(self, token_ids: Iterable[int]) -> None:
        self.token_ids = _ids_tensor(token_ids, "SuppressTokens")

    def __call__(self, step: int, generated_ids: Tensor, logits: Tensor) -> Tensor:
        if self.token_ids.numel() and int(self.token_ids[-1]) >= logits.shape[-1]:
            raise ValueError(f"SuppressTokens: id {int(self.token_ids[-1])} >= vocab size")
        out = logits.clone()
        out[:, self.token_ids.to(logits.device)] = float("-inf")
        return out

    def __repr__(self) -> str:
        return f"SuppressTokens({self.token_ids.tolist()})"


class AllowTokens:
    """Restrict the next token to an allowed set (everything else gets ``-inf``).

    ``allowed`` is either a fixed iterable of ids, or a callable
    ``allowed(step, generated_ids) -> list of per-row id iterables`` for constraints that depend
    on the history: legal-move restriction in the chess LM (https://kexue.fm/archives/7877) or
    copy-constrained decoding in SPACES (https://kexue.fm/archives/8046). A row whose allowed set
    is empty raises ValueError rather than emitting an arbitrary token.
    """

    def __init__(
        self,
        allowed: Iterable[int] | Callable[[int, torch.Tensor], Sequence[Iterable[int]]],
    ) -> None:
        self.fixed = None if callable(allowed) else _ids_tensor(allowed, "AllowTokens")
        self.fn = allowed if callable(allowed) else None
        if self.fixed is not None and self.fixed.numel() == 0:
            raise ValueError("AllowTokens: the allowed set is empty")

    def __call__(self, step: int, generated_ids: Tensor, logits: Tensor) -> Tensor:
        vocab = logits.shape[-1]
        keep = torch.zeros_like(logits, dtype=torch.bool)
        if self.fixed is not None:
            if int(self.fixed[-1]) >= vocab:
                raise ValueError(f"AllowTokens: id {int(self.fixed[-1])} >= vocab size {vocab}")
            keep[:, self.fixed.to(logits.device)] = True
        else:
            per_row = self.fn(step, generated_ids)
            if len(per_row) != logits.shape[0]:
                raise ValueError(
                    f"AllowTokens: callable returned {len(per_row)} sets for {logits.shape[0]} rows"
                )
            for r, ids in enumerate(per_row):
                ids = _ids_tensor(ids, "AllowTokens")
                if ids.numel() == 0:
                    raise ValueError(f"AllowTokens: empty allowed set for row {r} at step {step}")
                if int(ids[-1]) >= vocab:
                    raise ValueError(f"AllowTokens: id {int(ids[-1])} >= vocab size {vocab}")
                keep[r, ids.to(logits.device)] = True
        return logits.masked_fill(~keep, float("-inf"))

    def __repr__(self) -> str:
        if self.fn is not None:
            return "AllowTokens(<callable>)"
        return f"AllowTokens({self.fixed.tolist()})"


class TopKMask:
    """Sparse-softmax decoding: keep the ``k`` largest logits, set the rest to ``value``.

    SPACES (https://kexue.fm/archives/8046) trains with sparse softmax over the top-k logits
    Omega_k, p_i = exp(s_i) / sum_{j in Omega_k} exp(s_j), and at decode time sets every logit
    outside the top ``k = 10`` to ``-1000``. Ties at the k-th value are all kept.
    """

    def __init__(self, k: int = 10, value: float = -1000.0) -> None:
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"TopKMask: k must be a positive int, got {k!r}")
        self.k = k
        self.value = float(value)

    def __call__(self, step: int, generated_ids: Tensor, logits: Tensor) -> Tensor:
        k = min(self.k, logits.shape[-1])
        kth = torch.topk(logits, k, dim=-1).values[:, -1:]
        return logits.masked_fill(logits < kth, self.value)

    def __repr__(self) -> str:
        return f"TopKMask(k={self.k}, value={self.value})"
