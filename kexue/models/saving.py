"""``save_pretrained``: a kexue model as an HF-format directory, through the inverse key map.

The directory holds ``config.json`` (architecture fields only, under transformers' names, with
``model_type`` and ``architectures``), ``model.safetensors`` and, when given, the vocabulary.
The tensors are the family's ``"hf"`` key map run backwards (split q/k/v weights are joined
again, transposes undone), so ``build_transformer_model(checkpoint_path=dir, ...)`` rebuilds
the model bit for bit and transformers' ``from_pretrained`` reads the BERT, RoFormer, GPT-2
and T5 directories. Everything is written into a temporary directory that is renamed into
place only when complete (:func:`kexue.io.atomic.atomic_directory`).

``model.safetensors`` is written tensor by tensor (the header first, from the shapes), so
:mod:`kexue.cli.convert` streams a large checkpoint with one tensor in memory at a time.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import torch
from torch import nn

from kexue.io.atomic import atomic_directory
from kexue.models.loading import Chunk, Rule
from kexue.models.registry import Family, family_of

__all__ = [
    "save_pretrained",
    "hf_plan",
    "assemble",
    "hf_config",
    "write_safetensors",
    "SAFETENSORS_DTYPES",
]

SAFETENSORS_DTYPES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}

Part = tuple[str, Rule]


def hf_plan(model: nn.Module, family: Family | None = None) -> dict[str, list[Part]]:
    """HF key -> the kexue keys (and their rules) it is made of, in state-dict order."""
    family = family or family_of(model)
    km = family.key_maps["hf"](model, None, None)
    plan: dict[str, list[Part]] = {}
    for name in model.state_dict():
        rule = km.rules.get(name)
        if rule is None:
            raise ValueError(
                f"{family.name} model parameter {name} has no place in the HF layout "
                "(the key map lacks it)"
            )
        plan.setdefault(rule.source, []).append((name, rule))
    return plan


def _chunk_of(rule: Rule) -> tuple[int, Chunk | None]:
    for i, op in enumerate(rule.ops):
        if isinstance(op, Chunk):
            return i, op
    return -1, None


def _undo(t: torch.Tensor, ops) -> torch.Tensor:
    for op in reversed(ops):
        t = op.invert(t)
    return t


def assemble(key: str, parts: list[Part], value_of: Callable[[str], torch.Tensor]) -> torch.Tensor:
    """The HF tensor ``key`` from its kexue parts (``value_of(kexue_key)``)."""
    first_i, first_chunk = _chunk_of(parts[0][1])
    if first_chunk is None:
        value = _undo(value_of(parts[0][0]), parts[0][1].ops)
        for name, rule in parts[1:]:  # tied parameters: one stored copy, which must agree
            other = _undo(value_of(name), rule.ops)
            if not torch.equal(other, value):
                raise ValueError(
                    f"{name} and {parts[0][0]} are saved as one tensor {key} (tied in the "
                    "config) but their values differ"
                )
        return value
    pieces: dict[int, torch.Tensor] = {}
    for name, rule in parts:
        i, chunk = _chunk_of(rule)
        pieces[chunk.index] = _undo(value_of(name), rule.ops[i + 1 :])
    if sorted(pieces) != list(range(first_chunk.count)):
        raise ValueError(f"{key}: parts {sorted(pieces)} of {first_chunk.count} present")
    joined = torch.cat([pieces[j] for j in range(first_chunk.count)], dim=first_chunk.dim)
    return _undo(joined, parts[0][1].ops[:first_i])


def hf_config(model: nn.Module, family: Family | None = None) -> dict[str, Any]:
    """``config.json`` of ``model``: architecture fields (no build options), ``model_type``,
    ``architectures``; fields that are ``None`` are left out."""
    family = family or family_of(model)
    data = {k: v for k, v in model.config.architecture().items() if v is not None}
    return {
        "architectures": family.architectures(model),
        "model_type": family.model_types[0],
        **data,
    }


def _tensor_bytes(t: torch.Tensor) -> memoryview:
    flat = t.detach().contiguous().reshape(-1)
    if flat.numel() == 0:
        return memoryview(b"")
    return memoryview(flat.view(torch.uint8).numpy())


def write_safetensors(
    out: IO[bytes],
    entries: Iterable[tuple[str, torch.dtype, tuple[int, ...]]],
    produce: Callable[[str], torch.Tensor],
    *,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write a ``.safetensors`` stream: the header (from names, dtypes and shapes), then each
    tensor's bytes as ``produce(name)`` returns it, one at a time."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    order = []
    offset = 0
    for name, dtype, shape in entries:
        size = torch.empty((), dtype=dtype).element_size()
        for d in shape:
            size *= d
        header[name] = {
            "dtype": SAFETENSORS_DTYPES[dtype],
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        order.append((name, dtype, tuple(shape), size))
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    out.write(len(raw).to_bytes(8, "little"))
    out.write(raw)
    for name, dtype, shape, size in order:
        t = produce(name)
        if t.dtype != dtype or tuple(t.shape) != shape:
            raise ValueError(
                f"{name}: produced {t.dtype} {tuple(t.shape)}, announced {dtype} {shape}"
            )
        data = _tensor_bytes(t)
        if data.nbytes != size:
            raise ValueError(f"{name}: {data.nbytes} bytes, announced {size}")
        out.write(data)
        if progress is not None:
            progress(1)


def _write_vocab(vocab: Any, folder: Path) -> None:
    if vocab is None:
        return
    if isinstance(vocab, str | Path):
        src = Path(vocab)
        if not src.is_file():
            raise ValueError(f"vocab file not found: {src}")
        shutil.copyfile(src, folder / src.name)
        return
    tokens = sorted(vocab, key=vocab.get) if isinstance(vocab, dict) else list(vocab)
    (folder / "vocab.txt").write_text("".join(f"{t}\n" for t in tokens), encoding="utf-8")


def save_pretrained(
    model: nn.Module,
    path: str | Path,
    *,
    vocab: str | Path | dict[str, int] | list[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` as an HF-format directory at ``path`` and return it.

    Args:
        model: a kexue model of a registered family.
        path: the directory to create (its parent must exist).
        vocab: a vocabulary file to copy (``vocab.txt``, ``spiece.model``, ...), or the
            tokens (a list, or a ``token -> id`` dict) to write as ``vocab.txt``.
        overwrite: replace an existing directory (only once the new one is complete).
    """
    family = family_of(model)
    plan = hf_plan(model, family)
    state = model.state_dict()
    tensors = {key: assemble(key, parts, state.__getitem__) for key, parts in plan.items()}
    with atomic_directory(path, overwrite=overwrite) as tmp:
        with open(tmp / "model.safetensors", "wb") as f:
            write_safetensors(
                f,
                [(k, t.dtype, tuple(t.shape)) for k, t in tensors.items()],
                tensors.__getitem__,
            )
        config = hf_config(model, family)
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        _write_vocab(vocab, tmp)
    return Path(path)
