"""Strict loading of HuggingFace-format checkpoints through explicit per-family key maps.

A key map is data: ``{kexue_key: Rule(source_key, transform)}``. Loading is strict:

* every kexue parameter must come from the checkpoint (except ``fresh`` ones the model adds,
  e.g. Conditional LayerNorm's zero-initialised dense layers), else the error lists them;
* every checkpoint key must be mapped, or be a known key of the family that this build does
  not use (a head that was not requested — reported, not loaded), or a fixed buffer that is
  **verified** against the value kexue computes; anything else is listed as unexpected;
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

__all__ = [
    "Rule",
    "KeyMap",
    "LoadReport",
    "read_weights",
    "find_weights",
    "guess_family",
    "apply_key_map",
    "vocab_transform",
]

Transform = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Rule:
    """``kexue_key <- transform(checkpoint[source])``."""

    source: str
    transform: Transform | None = None


@dataclass
class KeyMap:
    """Everything a family knows about a checkpoint layout.

    Attributes:
        rules: kexue key -> :class:`Rule`.
        unused: checkpoint keys the family knows but this build does not use -> reason.
        verify: checkpoint keys holding fixed buffers -> function returning an error string
            (or ``None`` when the stored value is right).
        fresh: kexue keys that may be absent from the checkpoint -> reason (kept as initialised).
    """

    rules: dict[str, Rule] = field(default_factory=dict)
    unused: dict[str, str] = field(default_factory=dict)
    verify: dict[str, Callable[[torch.Tensor], str | None]] = field(default_factory=dict)
    fresh: dict[str, str] = field(default_factory=dict)


@dataclass
class LoadReport:
    """What a load did; attached to the model as ``model.load_report``."""

    source: str
    family: str
    loaded: int = 0
    unused: dict[str, str] = field(default_factory=dict)
    verified: list[str] = field(default_factory=list)
    initialised: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"loaded {self.loaded} tensors into a {self.family} model from {self.source}",
            f"verified fixed buffers: {len(self.verified)}",
        ]
        if self.unused:
            lines.append(f"known but unused by this build: {sorted(self.unused)}")
        if self.initialised:
            lines.append(f"newly initialised (not in the checkpoint): {sorted(self.initialised)}")
        return "\n".join(lines)


WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def find_weights(checkpoint_path: str | Path) -> Path:
    """The weights file of a checkpoint directory, or the path itself when it is a file."""
    path = Path(checkpoint_path)
    if path.is_dir():
        for name in WEIGHT_FILES:
            if (path / name).is_file():
                return path / name
        if any(path.glob("*.index.json")):
            raise ValueError(f"{path}: sharded checkpoints (*.index.json) are not supported yet")
        raise ValueError(f"{path}: no weights file; expected one of {list(WEIGHT_FILES)}")
    if not path.is_file():
        raise ValueError(f"checkpoint not found: {path}")
    return path


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a ``.safetensors`` or PyTorch (``.bin``/``.pt``) state dict; corrupt or truncated
    files raise ``ValueError`` naming the file."""
    path = find_weights(path)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise ValueError(
                f"cannot read weights file {path}: it is corrupt or truncated ({exc})"
            ) from exc
    else:
        try:
            tensors = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for damaged pickles/zips
            raise ValueError(
                f"cannot read weights file {path}: it is corrupt or truncated ({exc})"
            ) from exc
        if isinstance(tensors, dict) and "state_dict" in tensors and len(tensors) <= 3:
            tensors = tensors["state_dict"]
    if not isinstance(tensors, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in tensors.items()
    ):
        raise ValueError(f"weights file {path} does not hold a flat name -> tensor dict")
    return dict(tensors)


_SIGNATURES: list[tuple[str, str]] = [
    (r"(^|\.)attn\.c_attn\.weight$", "gpt2"),
    (r"(^|\.)SelfAttention\.q\.weight$", "t5"),
    (r"^(h\.\d+\.ln0\.weight|emb_ln\.weight)$", "gpt2_ml"),
    (r"(^|\.)encoder\.embed_positions\.weight$", "roformer"),
    (r"^roformer\.", "roformer"),
    (r"(^|\.)relative_positions_encoding\.", "nezha"),
    (r"^nezha\.", "nezha"),
    (r"(^|\.)embeddings\.position_embeddings\.weight$", "bert"),
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


def apply_key_map(
    model: nn.Module,
    tensors: dict[str, torch.Tensor],
    key_map: KeyMap,
    *,
    family: str,
    source: str,
) -> LoadReport:
    """Copy ``tensors`` into ``model`` through ``key_map``, strictly (see module docstring)."""
    targets = dict(model.state_dict(keep_vars=True))
    missing: list[str] = []
    mismatched: list[str] = []
    values: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    report = LoadReport(source=source, family=family)
    for name, param in targets.items():
        rule = key_map.rules.get(name)
        if rule is None or rule.source not in tensors:
            if name in key_map.fresh:
                report.initialised[name] = key_map.fresh[name]
                continue
            missing.append(rule.source if rule is not None else f"(kexue) {name}")
            continue
        used.add(rule.source)
        value = tensors[rule.source]
        if rule.transform is not None:
            value = rule.transform(value)
        if tuple(value.shape) != tuple(param.shape):
            mismatched.append(
                f"{rule.source} {tuple(tensors[rule.source].shape)} -> {name} expects "
                f"{tuple(param.shape)}"
            )
            continue
        values[name] = value
    unexpected: list[str] = []
    bad_buffers: list[str] = []
    for key in tensors:
        if key in used:
            continue
        if key in key_map.verify:
            problem = key_map.verify[key](tensors[key])
            if problem:
                bad_buffers.append(f"{key}: {problem}")
            else:
                report.verified.append(key)
        elif key in key_map.unused:
            report.unused[key] = key_map.unused[key]
        else:
            unexpected.append(key)
    if missing or unexpected or mismatched or bad_buffers:
        parts = [f"cannot load {source} into a {family} model:"]
        if missing:
            parts.append(f"missing keys ({len(missing)}): {_listing(missing)}")
            if all(k in key_map.unused for k in missing):
                parts.append("these are head weights the checkpoint lacks: build without that head")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {_listing(unexpected)}")
        if mismatched:
            parts.append(f"shape mismatches ({len(mismatched)}): {_listing(mismatched)}")
        if bad_buffers:
            parts.append(f"fixed buffers that differ from the formula: {_listing(bad_buffers)}")
        guess = guess_family(tensors)
        if guess is not None and guess != family:
            parts.append(f"the checkpoint looks like a {guess!r} model: try model={guess!r}")
        elif guess is None:
            parts.append("the checkpoint matches no kexue family layout")
        raise ValueError("\n  ".join(parts))
    with torch.no_grad():
        for name, value in values.items():
            targets[name].copy_(value.to(targets[name].dtype))
    report.loaded = len(values)
    return report


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
