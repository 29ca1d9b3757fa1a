"""Strict loading of checkpoints (every family, every format) through explicit key maps.

A key map is data: ``{kexue_key: Rule(source_key, transform)}``. One strictness rule holds
for every family and format:

* a **head** the build asks for (pooler, MLM, NSP, an untied LM head: a kexue parameter whose
  source is one of the family's known head keys) that the checkpoint lacks entirely is
  initialised fresh, listed in ``LoadReport.new_heads`` and named in a warning at build time;
  a head the checkpoint holds only in part is an error;
* every other kexue parameter must come from the checkpoint (except ``fresh`` ones the model
  adds, e.g. Conditional LayerNorm's zero-initialised dense layers), else the error lists them;
* every checkpoint key must be mapped, or be a known key of the family that this build does
  not use (a head that was not requested: reported, not loaded), or a fixed buffer that is
  **verified** against the value kexue computes, or a training-only variable skipped by name
  (TF optimizer slots); anything else (a fine-tuned ``classifier.*``) is refused with the list,
  unless ``strict=False`` (skip every such key) or ``ignore=`` patterns (skip the keys they
  match) are given: the skipped keys are then listed in ``LoadReport.skipped``;
* shapes must match exactly;
* the error names the keys and suggests the family the checkpoint looks like.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from kexue.models.sources import DictSource, TensorSource

__all__ = [
    "Rule",
    "KeyMap",
    "LoadReport",
    "Op",
    "Transpose",
    "Squeeze",
    "Chunk",
    "read_weights",
    "check_key_map",
    "check_dtype",
    "guess_family",
    "apply_key_map",
    "vocab_transform",
]

Transform = Callable[[torch.Tensor], torch.Tensor]


class Op:
    """An invertible layout change between a checkpoint tensor and a kexue parameter."""

    def apply(self, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def invert(self, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


@dataclass(frozen=True)
class Transpose(Op):
    """Swap the last two dimensions (TF ``kernel [in, out]`` <-> torch ``weight [out, in]``)."""

    def apply(self, t: torch.Tensor) -> torch.Tensor:
        return t.transpose(-1, -2) if t.dim() >= 2 else t

    def invert(self, t: torch.Tensor) -> torch.Tensor:
        return self.apply(t)


@dataclass(frozen=True)
class Squeeze(Op):
    """Drop a leading size-1 dimension (OpenAI GPT-2's ``conv1d`` weights ``[1, in, out]``)."""

    def apply(self, t: torch.Tensor) -> torch.Tensor:
        if t.dim() == 0 or t.shape[0] != 1:
            raise ValueError(f"expected a leading dimension of size 1, got {tuple(t.shape)}")
        return t[0]

    def invert(self, t: torch.Tensor) -> torch.Tensor:
        return t.unsqueeze(0)


@dataclass(frozen=True)
class Chunk(Op):
    """Part ``index`` of ``count`` equal parts along ``dim`` (a fused q/k/v weight). Its
    inverse needs all parts, so saving concatenates the parts of one source tensor."""

    dim: int
    index: int
    count: int

    def apply(self, t: torch.Tensor) -> torch.Tensor:
        if t.shape[self.dim] % self.count:
            raise ValueError(
                f"cannot split dim {self.dim} of {tuple(t.shape)} into {self.count} parts"
            )
        return t.chunk(self.count, dim=self.dim)[self.index]

    def invert(self, t: torch.Tensor) -> torch.Tensor:  # one part; see ``Chunk`` docstring
        return t


@dataclass(frozen=True)
class Rule:
    """``kexue_key <- transform(ops(checkpoint[source]))``.

    ``ops`` are invertible layout changes (saving runs them backwards); ``transform`` is the
    load-only vocabulary transform (``keep_tokens`` / ``compound_tokens``), never inverted:
    a saved model's vocabulary is the one it has.
    """

    source: str
    transform: Transform | None = None
    ops: tuple[Op, ...] = ()

    def convert(self, t: torch.Tensor) -> torch.Tensor:
        for op in self.ops:
            t = op.apply(t)
        return self.transform(t) if self.transform is not None else t


@dataclass
class KeyMap:
    """Everything a family knows about a checkpoint layout.

    Attributes:
        rules: kexue key -> :class:`Rule`.
        unused: checkpoint keys the family knows but this build does not use -> reason.
        verify: checkpoint keys holding fixed buffers -> function returning an error string
            (or ``None`` when the stored value is right).
        fresh: kexue keys that may be absent from the checkpoint -> reason (kept as initialised).
        ignore: a pattern of checkpoint keys skipped by name (optimizer slots, ``global_step``
            of a training checkpoint) and the reason, reported but never read.
    """

    rules: dict[str, Rule] = field(default_factory=dict)
    unused: dict[str, str] = field(default_factory=dict)
    verify: dict[str, Callable[[torch.Tensor], str | None]] = field(default_factory=dict)
    fresh: dict[str, str] = field(default_factory=dict)
    ignore: tuple[re.Pattern, str] | None = None


@dataclass
class LoadReport:
    """What a load did; attached to the model as ``model.load_report``."""

    source: str
    family: str
    loaded: int = 0
    unused: dict[str, str] = field(default_factory=dict)
    verified: list[str] = field(default_factory=list)
    initialised: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    new_heads: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"loaded {self.loaded} tensors into a {self.family} model from {self.source}",
            f"verified fixed buffers: {len(self.verified)}",
        ]
        if self.unused:
            lines.append(f"known but unused by this build: {sorted(self.unused)}")
        if self.skipped:
            reasons = sorted(set(self.skipped.values()))
            lines.append(f"checkpoint keys skipped ({len(self.skipped)}; {'; '.join(reasons)}): "
                         f"{_listing(self.skipped)}")
        if self.new_heads:
            lines.append(f"heads initialised fresh (not in the checkpoint): {self.new_heads}")
        if self.initialised:
            lines.append(f"newly initialised (not in the checkpoint): {sorted(self.initialised)}")
        return "\n".join(lines)


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Every tensor of a ``.safetensors`` / PyTorch file, an HF directory or a TF checkpoint
    (corrupt or truncated files raise ``ValueError`` naming the file)."""
    from kexue.models.sources import open_checkpoint

    source = open_checkpoint(path)
    return {k: source.get(k) for k in source.keys()}


_SIGNATURES: list[tuple[str, str]] = [
    (r"(^|\.)attn\.c_attn\.weight$", "gpt2"),
    (r"(^|\.)SelfAttention\.q\.weight$", "t5"),
    (r"^(h\.\d+\.ln0\.weight|emb_ln\.weight)$", "gpt2_ml"),
    (r"(^|\.)encoder\.embed_positions\.weight$", "roformer"),
    (r"^roformer\.", "roformer"),
    (r"(^|\.)relative_positions_encoding\.", "nezha"),
    (r"^nezha\.", "nezha"),
    (r"(^|\.)embeddings\.position_embeddings\.weight$", "bert"),
    # TensorFlow releases' names
    (r"^model/h\d+/attn/c_attn/w$", "gpt2"),
    (r"/SelfAttention/q$", "t5"),
    (r"^newslm/", "gpt2_ml"),
    (r"/embeddings/position_embeddings$", "bert"),
    (r"/encoder/layer_\d+/attention/self/query/kernel$", "nezha"),
]


def guess_family(keys: Iterable[str]) -> str | None:
    """The model family a set of checkpoint keys looks like, or ``None``."""
    keys = list(keys)
    for pattern, family in _SIGNATURES:
        rx = re.compile(pattern)
        if any(rx.search(k) for k in keys):
            return family
    if any(
        re.search(r"(^|\.)encoder\.layer\.\d+\.attention\.self\.query\.weight$", k) for k in keys
    ):
        return "nezha"  # BERT layout without any position table
    return None


def _listing(keys: Iterable[str], limit: int = 12) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def _as_source(tensors) -> TensorSource:
    return tensors if isinstance(tensors, TensorSource) else DictSource(tensors)


def _patterns(ignore: str | Iterable[str] | None) -> list[re.Pattern]:
    if ignore is None:
        return []
    items = [ignore] if isinstance(ignore, str | re.Pattern) else list(ignore)
    out = []
    for item in items:
        if not isinstance(item, str | re.Pattern):
            raise TypeError(f"ignore= takes regular expressions (str), got {item!r}")
        try:
            out.append(re.compile(item))
        except re.error as exc:
            raise ValueError(f"ignore= pattern {item!r} is not a valid regular expression: "
                             f"{exc}") from None
    return out


def _head_of(name: str) -> str:
    return name.split(".", 1)[0]


def check_key_map(
    model: nn.Module,
    tensors,
    key_map: KeyMap,
    *,
    family: str,
    source: str,
    strict: bool = True,
    ignore: str | Iterable[str] | None = None,
) -> LoadReport:
    """Every structural check of :func:`apply_key_map`, from names and shapes only (nothing
    is read, and ``model`` may live on the ``meta`` device). Raises ``ValueError`` listing
    missing, unexpected and mis-shaped keys; returns the report of what a load would do.

    ``strict=False`` skips every checkpoint key the model does not use; ``ignore`` (a regular
    expression or a list of them, searched in each checkpoint key) skips the keys it matches;
    both list what they skipped in ``report.skipped``. Neither excuses a missing weight or a
    shape mismatch."""
    patterns = _patterns(ignore)
    src = _as_source(tensors)
    keys = src.keys()
    present = set(keys)
    targets = dict(model.state_dict(keep_vars=True))
    missing: list[str] = []
    mismatched: list[str] = []
    used: set[str] = set()
    report = LoadReport(source=source, family=family)
    # a head is fresh only when the checkpoint holds none of its head keys
    partial = {
        _head_of(name)
        for name, rule in key_map.rules.items()
        if name in targets and rule.source in key_map.unused and rule.source in present
    }
    for name, param in targets.items():
        rule = key_map.rules.get(name)
        if rule is None or rule.source not in present:
            if name in key_map.fresh:
                report.initialised[name] = key_map.fresh[name]
                continue
            head = _head_of(name)
            if rule is not None and rule.source in key_map.unused and head not in partial:
                report.initialised[name] = f"{head} head requested but not in the checkpoint"
                if head not in report.new_heads:
                    report.new_heads.append(head)
                continue
            missing.append(rule.source if rule is not None else f"(kexue) {name}")
            continue
        used.add(rule.source)
        shape = _converted_shape(rule, src.shape(rule.source))
        if shape is not None and shape != tuple(param.shape):
            mismatched.append(
                f"{rule.source} {tuple(src.shape(rule.source))} -> {name} expects "
                f"{tuple(param.shape)}"
            )
    unexpected: list[str] = []
    for key in keys:
        if key in used or key in key_map.verify:
            continue
        if key in key_map.unused:
            report.unused[key] = key_map.unused[key]
        elif key_map.ignore is not None and key_map.ignore[0].search(key):
            report.skipped[key] = key_map.ignore[1]
        elif any(p.search(key) for p in patterns):
            report.skipped[key] = "matched ignore="
        elif not strict:
            report.skipped[key] = "not used by this model (strict=False)"
        else:
            unexpected.append(key)
    if missing or unexpected or mismatched:
        parts = [f"cannot load {source} into a {family} model:"]
        if missing:
            parts.append(f"missing keys ({len(missing)}): {_listing(missing)}")
            if all(k in key_map.unused for k in missing):
                parts.append(
                    "these are weights of a head the checkpoint holds only in part "
                    f"({sorted(partial)}): the checkpoint is incomplete"
                )
        if unexpected:
            parts.append(
                f"unexpected keys ({len(unexpected)}; the {family} model does not use them, "
                f"e.g. a fine-tuned head): {_listing(unexpected)}; pass strict=False to skip "
                "every unused key, or ignore=PATTERN to skip the keys a regular expression "
                "matches (both are listed in model.load_report.skipped)"
            )
        if mismatched:
            parts.append(f"shape mismatches ({len(mismatched)}): {_listing(mismatched)}")
        guess = guess_family(keys)
        if guess is not None and guess != family:
            parts.append(f"the checkpoint looks like a {guess!r} model: try model={guess!r}")
        elif guess is None:
            parts.append("the checkpoint matches no kexue family layout")
        raise ValueError("\n  ".join(parts))
    return report


def _converted_shape(rule: Rule, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape ``rule`` makes of a source tensor of ``shape`` (``None`` when a load-only
    vocabulary transform decides it)."""
    if rule.transform is not None:
        return None
    try:
        t = torch.empty(shape, device="meta")
        for op in rule.ops:
            t = op.apply(t)
    except (ValueError, RuntimeError, IndexError):
        return (-1,)
    return tuple(t.shape)


def apply_key_map(
    model: nn.Module,
    tensors,
    key_map: KeyMap,
    *,
    family: str,
    source: str,
    progress: Callable[[int], None] | None = None,
    strict: bool = True,
    ignore: str | Iterable[str] | None = None,
) -> LoadReport:
    """Copy ``tensors`` (a dict or a :class:`TensorSource`) into ``model`` through
    ``key_map``, strictly (see the module docstring). Names and shapes are checked before
    anything is read; then one tensor at a time is read, checked and copied. Only
    float-to-float casts happen: an integer, boolean or complex tensor for a float parameter
    is an error naming it (a corrupted header must not load as weights). ``strict`` and
    ``ignore``: see :func:`check_key_map`."""
    src = _as_source(tensors)
    report = check_key_map(
        model, src, key_map, family=family, source=source, strict=strict, ignore=ignore
    )
    bad_buffers: list[str] = []
    for key in src.keys():
        if key in key_map.verify and key not in {r.source for r in key_map.rules.values()}:
            problem = key_map.verify[key](_bound(key_map, src).get(key))
            if problem:
                bad_buffers.append(f"{key}: {problem}")
            else:
                report.verified.append(key)
    if bad_buffers:
        raise ValueError(
            f"cannot load {source} into a {family} model:\n  fixed buffers that differ from "
            f"the formula: {_listing(bad_buffers)}"
        )
    targets = dict(model.state_dict(keep_vars=True))
    cache: dict[str, torch.Tensor] = {}
    wanted: dict[str, int] = {}
    for name in targets:
        rule = key_map.rules.get(name)
        if rule is not None and name not in report.initialised:
            wanted[rule.source] = wanted.get(rule.source, 0) + 1
    loaded = 0
    with torch.no_grad():
        for name, param in targets.items():
            if name in report.initialised:
                continue
            rule = key_map.rules[name]
            raw = cache.get(rule.source)
            if raw is None:
                raw = src.get(rule.source)
                check_dtype(raw, param, rule.source, name, source)
                if wanted[rule.source] > 1:
                    cache[rule.source] = raw
            value = rule.convert(raw)
            if tuple(value.shape) != tuple(param.shape):
                raise ValueError(
                    f"cannot load {source} into a {family} model: {rule.source} gives "
                    f"{tuple(value.shape)}, {name} expects {tuple(param.shape)}"
                )
            param.copy_(value.to(param.dtype))
            loaded += 1
            wanted[rule.source] -= 1
            if not wanted[rule.source]:
                cache.pop(rule.source, None)
            if progress is not None:
                progress(1)
    report.loaded = loaded
    return report


def check_dtype(
    value: torch.Tensor, param: torch.Tensor, key: str, name: str, source: str
) -> None:
    """Refuse any cast but float-to-float (and same-kind integer buffers)."""
    if param.is_floating_point() and not value.is_floating_point():
        raise ValueError(
            f"cannot load {source}: {key} holds {value.dtype} values but {name} is a "
            f"{param.dtype} weight; only float-to-float casts are allowed (a corrupted "
            "header can make float bytes look like integers)"
        )


def _bound(key_map: KeyMap, src: TensorSource) -> TensorSource:
    for hook in key_map.verify.values():
        if hasattr(hook, "tensors") and hook.tensors is None:
            hook.tensors = src
    return src


def vocab_transform(
    keep_tokens: list[int] | None, compound_tokens: list[list[int]] | None
) -> Transform | None:
    """Rows of a vocabulary-indexed tensor (embedding ``(V, E)`` or bias ``(V,)``).

    ``keep_tokens`` (vocabulary simplification, bert4keras ``load_vocab(simplified=True)``):
    keep these rows, in this order. ``compound_tokens``: append one row per list, the exact
    mean of the listed rows, after the kept (or all original) rows. The ids in
    ``compound_tokens`` are **original** checkpoint ids (before ``keep_tokens``), the format
    ``kexue.text.wobert`` produces; WoBERT initialises its word rows this way
    (https://kexue.fm/archives/7758). (bert4keras indexes the kept vocabulary instead; map
    ids through ``keep_tokens`` to convert.)
    """
    if keep_tokens is None and not compound_tokens:
        return None

    def transform(t: torch.Tensor) -> torch.Tensor:
        original = t
        if keep_tokens is not None:
            index = torch.as_tensor(keep_tokens, dtype=torch.long)
            if index.numel() and (int(index.min()) < 0 or int(index.max()) >= t.shape[0]):
                raise ValueError(
                    f"keep_tokens must lie in [0, {t.shape[0]}); got range "
                    f"[{int(index.min())}, {int(index.max())}]"
                )
            t = t.index_select(0, index)
        if compound_tokens:
            rows = []
            for ids in compound_tokens:
                if not len(ids):
                    raise ValueError("compound_tokens entries must list at least one token id")
                index = torch.as_tensor(list(ids), dtype=torch.long)
                if int(index.min()) < 0 or int(index.max()) >= original.shape[0]:
                    raise ValueError(
                        f"compound_tokens ids (original vocabulary) must lie in "
                        f"[0, {original.shape[0]}); got {list(ids)}"
                    )
                rows.append(original.index_select(0, index).double().mean(0).to(t.dtype))
            t = torch.cat([t, torch.stack(rows)], dim=0)
        return t

    return transform
