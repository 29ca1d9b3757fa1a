"""Padding and collation: the package's one ``sequence_padding`` and a ``DataLoader`` collate.

``sequence_padding`` is bert4keras's snippet of the same name (``snippets.sequence_padding``):
a list of variable-length id lists (or arrays, or tensors) becomes one rectangular array,
padded or cut to a length along the chosen axes. :class:`PadCollate` applies it to every field
of a batch of dict (or tuple) examples and builds the key mask the models take as
``attention_mask`` (1 for real tokens, 0 for padding; docs/design.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Number
from typing import Any

import numpy as np
import torch

__all__ = ["PadCollate", "sequence_padding"]

_SIDES = ("post", "pre")


def _as_array(item: Any, index: int) -> np.ndarray:
    try:
        arr = np.asarray(item)
    except ValueError as e:  # numpy refuses ragged nesting
        raise ValueError(f"item {index} is ragged inside (its own rows differ in length): "
                         f"{e}") from None
    if arr.dtype == object:
        raise ValueError(f"item {index} is ragged inside or not numeric (numpy made an "
                         f"object array of it)")
    return arr


def sequence_padding(
    inputs: Sequence[Any],
    length: int | Sequence[int] | None = None,
    value: float = 0,
    *,
    axis: int | Sequence[int] = 0,
    mode: str = "post",
    truncating: str = "post",
    dtype: Any = None,
) -> np.ndarray | torch.Tensor:
    """Pad (or cut) a list of sequences to one length and stack them.

    Args:
        inputs: the items: lists of ids, nested lists, NumPy arrays or tensors; all of the same
            rank, equal in every dimension that is not padded.
        length: target length of each padded axis (an int, or one per axis); ``None`` uses
            the longest item along that axis.
        value: the padding value.
        axis: the axis (or axes) of each item to pad, default 0 (bert4keras's
            ``seq_dims=2`` is ``axis=(0, 1)``). Negative axes count from the end.
        mode: ``"post"`` pads at the end (right), ``"pre"`` at the start (left; for decoders).
        truncating: which end loses elements when an item is longer than ``length``:
            ``"post"`` keeps the first ``length`` (bert4keras), ``"pre"`` keeps the last.
        dtype: output dtype; default: the items' (a NumPy/torch result type).

    Returns:
        ``(len(inputs), *padded_shape)``: a ``torch.Tensor`` (on the first item's device) when
        every item is a tensor, otherwise a NumPy array.

    Raises ``ValueError`` naming the first offending item when the items differ in rank or in a
    dimension that is not padded, or are ragged inside. Example::

        >>> sequence_padding([[1, 2, 3], [4]])
        array([[1, 2, 3],
               [4, 0, 0]])
        >>> sequence_padding([[1, 2, 3], [4]], length=2, mode="pre")
        array([[1, 2],
               [0, 4]])
    """
    if mode not in _SIDES:
        raise ValueError(f"mode must be 'post' or 'pre', got {mode!r}")
    if truncating not in _SIDES:
        raise ValueError(f"truncating must be 'post' or 'pre', got {truncating!r}")
    if isinstance(inputs, np.ndarray | torch.Tensor):
        inputs = list(inputs)
    if not isinstance(inputs, Sequence) or isinstance(inputs, str | bytes):
        raise TypeError(f"inputs must be a list of sequences, got {type(inputs).__name__}")
    if len(inputs) == 0:
        raise ValueError("sequence_padding needs at least one item")
    as_torch = all(isinstance(x, torch.Tensor) for x in inputs)
    items = [x if as_torch else _as_array(x, i) for i, x in enumerate(inputs)]
    rank = items[0].ndim
    for i, x in enumerate(items):
        if x.ndim != rank:
            raise ValueError(f"item {i} has {x.ndim} dimensions, item 0 has {rank}: cannot pad "
                             f"items of different rank")
    if rank == 0:
        raise ValueError("items are scalars: nothing to pad (stack them instead)")
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    try:
        axes = tuple(sorted({a % rank if -rank <= a < rank else None for a in axes}))
    except TypeError:
        raise ValueError(f"axis {axis!r} is out of range for items of rank {rank}") from None
    if not axes:
        raise ValueError("axis must name at least one axis")
    if isinstance(length, int) or length is None:
        lengths = [length] * len(axes)
    else:
        lengths = list(length)
        if len(lengths) != len(axes):
            raise ValueError(f"length has {len(lengths)} entries for {len(axes)} padded axes")
    target = list(items[0].shape)
    for ax, want in zip(axes, lengths):
        if want is None:
            want = max(int(x.shape[ax]) for x in items)
        elif isinstance(want, bool) or not isinstance(want, int) or want < 0:
            raise ValueError(f"length must be an int >= 0, got {want!r}")
        target[ax] = want
    for i, x in enumerate(items):
        for ax in range(rank):
            if ax not in axes and x.shape[ax] != target[ax]:
                raise ValueError(
                    f"item {i} has shape {tuple(x.shape)}, item 0 has {tuple(items[0].shape)}: "
                    f"axis {ax} is not padded (axis={axis!r}), so it must match")

    if as_torch:
        out_dtype = items[0].dtype
        for x in items[1:]:
            out_dtype = torch.promote_types(out_dtype, x.dtype)
        out_dtype = dtype or out_dtype
        out = torch.full((len(items), *target), value, dtype=out_dtype, device=items[0].device)
    else:
        out_dtype = dtype or np.result_type(*items)
        out = np.full((len(items), *target), value, dtype=out_dtype)
    for i, x in enumerate(items):
        src, dst = [], []
        for ax in range(rank):
            n, want = int(x.shape[ax]), target[ax]
            keep = min(n, want)
            if ax in axes:
                src.append(slice(0, keep) if truncating == "post" else slice(n - keep, n))
                dst.append(slice(0, keep) if mode == "post" else slice(want - keep, want))
            else:
                src.append(slice(None))
                dst.append(slice(None))
        out[(i, *dst)] = x[tuple(src)]
    return out


class PadCollate:
    """A ``collate_fn`` for ``torch.utils.data.DataLoader`` that pads every field.

    Examples are dicts (``{"token_ids": [...], "segment_ids": [...], "labels": 1}``) or tuples;
    the batch is the same structure of tensors. A field whose values are sequences is padded
    with :func:`sequence_padding` (its pad value from ``pad_values``, default 0); a field of
    numbers is stacked. For dict examples, ``mask_field`` (default ``"token_ids"``, ``None`` for
    none) also yields ``"attention_mask"``: 1 where the field held a real element, 0 for
    padding, the key mask the models take.

    Args:
        pad_values: pad value per field name (dicts) or position (tuples); e.g.
            ``{"labels": -100}`` for token-level labels ignored by the loss.
        length: pad every sequence field to this length (cutting longer ones) instead of to
            the batch's longest.
        mode, truncating: as in :func:`sequence_padding` (``"pre"`` pads on the left).
        mask_field: the field the mask is built from (dict examples only).
        dtypes: a torch dtype per field; default int64 for integers, float32 for floats.

    Raises ``ValueError`` naming the field and the example when a batch cannot be padded:
    missing or extra fields, a sequence where a number was expected (or the reverse), or
    items that differ in a dimension that is not padded.
    """

    def __init__(self, pad_values: Mapping[Any, float] | None = None, *,
                 length: int | None = None, mode: str = "post", truncating: str = "post",
                 mask_field: str | None = "token_ids",
                 dtypes: Mapping[Any, torch.dtype] | None = None) -> None:
        if mode not in _SIDES or truncating not in _SIDES:
            raise ValueError(f"mode and truncating must be 'post' or 'pre', got {mode!r}, "
                             f"{truncating!r}")
        self.pad_values = dict(pad_values or {})
        self.length = length
        self.mode = mode
        self.truncating = truncating
        self.mask_field = mask_field
        self.dtypes = dict(dtypes or {})

    def _field(self, key: Any, values: list[Any]) -> torch.Tensor:
        scalar = [isinstance(v, Number | np.generic) or (
            isinstance(v, np.ndarray | torch.Tensor) and v.ndim == 0) for v in values]
        if all(scalar):
            if isinstance(values[0], torch.Tensor):
                out = torch.stack(values)
            else:
                out = torch.as_tensor(np.asarray(values))
        elif any(scalar):
            i = scalar.index(not scalar[0])
            raise ValueError(f"field {key!r}: example {i} holds a "
                             f"{'number' if scalar[i] else 'sequence'} but example 0 a "
                             f"{'number' if scalar[0] else 'sequence'}; cannot batch them")
        else:
            try:
                padded = sequence_padding(values, self.length, self.pad_values.get(key, 0),
                                          mode=self.mode, truncating=self.truncating)
            except ValueError as e:
                raise ValueError(f"field {key!r}: {e}") from None
            out = padded if isinstance(padded, torch.Tensor) else torch.from_numpy(padded)
        if key in self.dtypes:
            return out.to(self.dtypes[key])
        if out.dtype == torch.float64 and not isinstance(values[0], torch.Tensor):
            return out.float()
        return out

    def _mask(self, values: list[Any]) -> torch.Tensor:
        ones = [np.ones(len(v), dtype=np.int64) for v in values]
        return torch.from_numpy(sequence_padding(ones, self.length, 0, mode=self.mode,
                                                 truncating=self.truncating))

    def __call__(self, examples: Sequence[Any]) -> Any:
        if len(examples) == 0:
            raise ValueError("cannot collate an empty batch")
        first = examples[0]
        if isinstance(first, Mapping):
            keys = list(first)
            for i, ex in enumerate(examples):
                if not isinstance(ex, Mapping) or set(ex) != set(keys):
                    got = sorted(map(str, ex)) if isinstance(ex, Mapping) else type(ex).__name__
                    raise ValueError(f"example {i} has fields {got}, example 0 has "
                                     f"{sorted(map(str, keys))}")
            batch = {k: self._field(k, [ex[k] for ex in examples]) for k in keys}
            if self.mask_field is not None and self.mask_field in first:
                if "attention_mask" in batch:
                    raise ValueError("examples already have an 'attention_mask' field; pass "
                                     "mask_field=None")
                values = [ex[self.mask_field] for ex in examples]
                if not isinstance(batch[self.mask_field], torch.Tensor) or batch[
                        self.mask_field].dim() < 2:
                    raise ValueError(f"mask_field {self.mask_field!r} is not a sequence field")
                batch["attention_mask"] = self._mask(values)
            return batch
        if isinstance(first, tuple | list):
            n = len(first)
            for i, ex in enumerate(examples):
                if not isinstance(ex, tuple | list) or len(ex) != n:
                    raise ValueError(f"example {i} is not a tuple of {n} fields like example 0")
            return tuple(self._field(j, [ex[j] for ex in examples]) for j in range(n))
        raise TypeError(f"examples must be dicts or tuples, got {type(first).__name__}")
