"""Shared plumbing of the kexue optimizers: argument checks and ``state_dict`` safety.

Nothing here is a method of an article; it is what every optimizer in :mod:`kexue.optim` needs
to behave like a well-mannered ``torch.optim.Optimizer``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch.optim import Optimizer

LOW_PRECISION = (torch.float16, torch.bfloat16)

# Group keys that say nothing about which optimizer produced a state_dict ("nonfinite" is
# also absent from states saved before it existed).
_NEUTRAL_GROUP_KEYS = frozenset({"params", "param_names", "initial_lr", "nonfinite"})
#: Values of the ``nonfinite`` option: skip the parameter's update (and warn) or raise.
NONFINITE_MODES = ("skip", "raise")
#: Per-parameter state key counting the updates skipped for a non-finite gradient.
SKIP_KEY = "nonfinite_skips"


def check_number(name: str, value: Any, low: float, high: float, *, low_open: bool = False,
                 high_open: bool = False) -> float:
    """Return ``value`` as a float if it is a finite real number in the given range, else raise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if below or above:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{name} must lie in {lo}{low}, {high}{hi}, got {value}")
    return value


def check_lr(value: Any, *, allow_none: bool = False) -> float | None:
    """Learning rates are finite and non-negative (``None`` only where the optimizer allows it)."""
    if value is None and allow_none:
        return None
    if isinstance(value, torch.Tensor):
        raise TypeError("lr must be a Python float, not a tensor")
    return check_number("lr", value, 0.0, math.inf, high_open=True)


def low_precision(t: torch.Tensor) -> bool:
    return t.dtype in LOW_PRECISION


def state_dtype(p: torch.Tensor) -> torch.dtype:
    """Optimizer statistics of float16/bfloat16 parameters are kept in float32."""
    return torch.float32 if low_precision(p) else p.dtype


def named_params(group: Mapping[str, Any]) -> Iterator[tuple[str | None, torch.Tensor]]:
    """``(name, param)`` pairs of a group; names are ``None`` unless the optimizer was given
    ``model.named_parameters()``."""
    names = group.get("param_names")
    params = group["params"]
    if names is None:
        names = [None] * len(params)
    return zip(names, params)


def require_names(group: Mapping[str, Any], option: str) -> None:
    if group.get("param_names") is None:
        raise ValueError(
            f"{option} matches parameter names, but this param group has none: build the "
            "optimizer from model.named_parameters() (or groups with 'param_names')"
        )


def name_matches(name: str | None, patterns: Any) -> bool:
    """bert4keras rule: a pattern matches when it is a substring of the parameter name."""
    return name is not None and any(pat in name for pat in patterns)


#: Options whose entries are parameter-name substrings (a mapping's keys for the schedule).
PATTERN_OPTIONS = ("exclude_from_weight_decay", "exclude_from_layer_adaptation",
                   "paramwise_lr_schedule")


def check_patterns_match(groups: list[dict[str, Any]]) -> None:
    """Every name pattern given to a wrapper must match some parameter of the optimizer: a
    pattern matching nothing (``"LayerNorm"`` on a kexue model, whose norms are named
    ``...norm``) would silently change nothing. Raises ``ValueError`` listing the names."""
    names = [n for g in groups for n in (g.get("param_names") or ()) if n is not None]
    unmatched: dict[str, list[str]] = {}
    for group in groups:
        for option in PATTERN_OPTIONS:
            for pat in group.get(option) or ():
                if not any(pat in n for n in names):
                    unmatched.setdefault(option, []).append(pat)
    if unmatched:
        shown = ", ".join(names[:40]) + (f", ... ({len(names) - 40} more)" if len(names) > 40
                                         else "")
        what = "; ".join(f"{opt} {sorted(set(p))}" for opt, p in unmatched.items())
        raise ValueError(
            f"name pattern(s) matching no parameter: {what} (a pattern matches when it is a "
            f"substring of a name; kexue models name their layer norms '...norm'). "
            f"Parameter names: {shown}"
        )


def check_patterns(option: str, patterns: Any) -> tuple[str, ...]:
    if isinstance(patterns, str):
        raise TypeError(f"{option} must be a list of name substrings, not a single string")
    try:
        out = tuple(patterns)
    except TypeError:
        raise TypeError(f"{option} must be a list of name substrings") from None
    for pat in out:
        if not isinstance(pat, str) or not pat:
            raise TypeError(f"{option} entries must be non-empty strings, got {pat!r}")
    return out


def check_compatible_state_dict(opt: Optimizer, state_dict: Any) -> None:
    """Refuse a ``state_dict`` produced by a different optimizer (or a different wrapping).

    ``torch.optim.Optimizer.load_state_dict`` accepts any dict with the right number of
    parameters, so e.g. an Adam state silently loaded into AdaX would only fail (or worse,
    not fail) at the next step. The hyper-parameter keys of each param group identify the
    optimizer, so they must agree exactly.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping, got {type(state_dict).__name__}")
    missing = {"state", "param_groups"} - set(state_dict)
    if missing:
        raise ValueError(
            f"state_dict lacks the key(s) {sorted(missing)}; is it an optimizer state?"
        )
    saved = state_dict["param_groups"]
    if len(saved) != len(opt.param_groups):
        raise ValueError(
            f"state_dict has {len(saved)} param groups, this {type(opt).__name__} has "
            f"{len(opt.param_groups)}"
        )
    for i, (ours, theirs) in enumerate(zip(opt.param_groups, saved)):
        a = set(ours) - _NEUTRAL_GROUP_KEYS
        b = set(theirs) - _NEUTRAL_GROUP_KEYS
        if a != b:
            raise ValueError(
                f"state_dict was not produced by a {type(opt).__name__}: param group {i} "
                f"lacks {sorted(a - b)} and has unexpected {sorted(b - a)}"
            )


def param_index(opt: Optimizer) -> list[torch.Tensor]:
    """Parameters in the order ``state_dict`` numbers them."""
    return [p for group in opt.param_groups for p in group["params"]]


def restore_state_dtypes(
    opt: Optimizer, state_dict: Mapping[str, Any], keys: frozenset[str]
) -> None:
    """Undo torch's cast of float32 statistics to a float16/bfloat16 parameter's dtype.

    ``Optimizer.load_state_dict`` casts every floating state tensor to its parameter's dtype;
    for the float32 statistics we keep for low-precision parameters that would lose bits and
    break bit-identical continuation.
    """
    params = param_index(opt)
    for idx, saved in state_dict["state"].items():
        if not isinstance(idx, int) or not 0 <= idx < len(params):
            continue
        p = params[idx]
        state = opt.state[p]
        for key, value in saved.items():
            if (
                key in keys
                and isinstance(value, torch.Tensor)
                and key in state
                and state[key].dtype != value.dtype
            ):
                state[key] = value.detach().to(device=p.device).clone()


class KexueOptimizer(Optimizer):
    """Base of AdaX and AdaFactor: strict ``load_state_dict``, float32 statistics, and the
    non-finite gradient guard (option ``nonfinite``, see :func:`screen_nonfinite`)."""

    def _skipped(self) -> set[int]:
        """Screen the gradients (raise, or count and warn); ids of the parameters to skip."""
        return {id(p) for p in screen_nonfinite(self, lambda p: self.state[p])}

    def nonfinite_skips(self) -> dict[str | int, int]:
        """Updates skipped so far for a non-finite gradient, per parameter (name, or index in
        ``state_dict`` order); parameters never skipped are left out."""
        return skip_counts(self, self.state)

    _float32_state_keys: frozenset[str] = frozenset()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        check_compatible_state_dict(self, state_dict)
        super().load_state_dict(state_dict)
        restore_state_dtypes(self, state_dict, self._float32_state_keys)

    def _check_group(self, group: dict[str, Any]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        group["nonfinite"] = check_nonfinite(group.setdefault("nonfinite", "skip"))
        self._check_group(group)


def check_nonfinite(value: Any) -> str:
    if value not in NONFINITE_MODES:
        raise ValueError(f"nonfinite must be 'skip' or 'raise', got {value!r}")
    return value


def _describe_param(name: str | None, group_index: int, index: int, p: torch.Tensor) -> str:
    if name is not None:
        return repr(name)
    return (f"parameter {index} of param group {group_index} (shape {tuple(p.shape)}; build "
            "the optimizer from model.named_parameters() to see names)")


def screen_nonfinite(opt: Optimizer, counts: Callable[[torch.Tensor], dict[str, Any]],
                     grads: Callable[[torch.Tensor], torch.Tensor | None] | None = None,
                     ) -> list[torch.Tensor]:
    """The parameters whose gradient holds a NaN or an infinity, before anything is updated.

    Group option ``nonfinite="raise"`` raises ``FloatingPointError`` naming them; otherwise
    (``"skip"``, the default) each is reported with a ``RuntimeWarning`` naming it and counted
    in ``counts(p)[SKIP_KEY]``; the caller then leaves its update and its state alone.
    ``grads(p)`` gives the gradient to test (default ``p.grad``). One sum per parameter (in
    float32 or float64) and one host sync per param group: a finite sum proves every element
    finite; a non-finite one is confirmed element-wise (finite values can overflow a sum).
    """
    bad: list[tuple[str, torch.Tensor, dict[str, Any]]] = []
    for gi, group in enumerate(opt.param_groups):
        params = group["params"]
        gs = [p.grad for p in params] if grads is None else [grads(p) for p in params]
        idx = [i for i, g in enumerate(gs) if g is not None and g.numel()]
        if not idx:
            continue
        dense = [gs[i].coalesce().values() if gs[i].is_sparse else gs[i] for i in idx]
        # A finite sum proves every element finite (a NaN or an infinity always reaches the
        # sum); a plain reduction reads each gradient once and allocates nothing (an inf-norm
        # or isfinite() would write a full-size temporary: measured 10x slower on CPU).
        sums = [g.sum(dtype=torch.float64 if g.dtype == torch.float64 else torch.float32)
                for g in dense]
        if len(sums) == 1:
            values = [sums[0].item()]
        else:
            try:
                values = torch.stack(sums).tolist()  # one host sync for the group
            except RuntimeError:  # parameters on several devices
                values = [x.item() for x in sums]
        for k, v in enumerate(values):
            if not math.isfinite(v) and bool(torch.isfinite(dense[k]).all()):
                values[k] = 0.0  # finite values whose sum overflowed
        if all(map(math.isfinite, values)):
            continue
        names = group.get("param_names") or [None] * len(params)
        for i, v in zip(idx, values):
            if not math.isfinite(v):
                bad.append((_describe_param(names[i], gi, i, params[i]), params[i], group))
    if not bad:
        return []
    if any(group.get("nonfinite", "skip") == "raise" for _, _, group in bad):
        names = ", ".join(d for d, _, _ in bad)
        raise FloatingPointError(f"{type(opt).__name__}: non-finite gradient (NaN or inf) in "
                                 f"{names}; nothing was updated")
    for desc, p, _ in bad:
        state = counts(p)
        state[SKIP_KEY] = int(state.get(SKIP_KEY, 0)) + 1
        warnings.warn(f"{type(opt).__name__}: gradient of {desc} is not finite (NaN or inf); "
                      f"its update is skipped and its optimizer state left as it was "
                      f"({state[SKIP_KEY]} skip(s) so far)", RuntimeWarning, stacklevel=4)
    return [p for _, p, _ in bad]


def skip_counts(opt: Optimizer, store: Mapping[torch.Tensor, Mapping[str, Any]]
                ) -> dict[str | int, int]:
    """``{name (or index in state_dict order): updates skipped}`` for parameters with skips."""
    out: dict[str | int, int] = {}
    index = 0
    for group in opt.param_groups:
        for name, p in named_params(group):
            n = store.get(p, {}).get(SKIP_KEY, 0) if p in store else 0
            if n:
                out[name if name is not None else index] = int(n)
            index += 1
    return out
