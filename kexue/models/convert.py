"""Convert a checkpoint (TensorFlow, or HF-format) into an HF-format directory, streaming.

The conversion is the family's source key map followed by the inverse of its ``"hf"`` key map
(the same two maps loading and ``save_pretrained`` use), computed on a model on the ``meta``
device: nothing is allocated for the model, and ``model.safetensors`` is written one tensor at
a time (header first), so peak memory is about one tensor, not the checkpoint. The output
directory appears only when complete (:func:`kexue.io.atomic.atomic_directory`). The heads a
checkpoint holds (pooler, MLM, NSP, LM head) are kept; optimizer slots are dropped.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from kexue.io.atomic import atomic_directory
from kexue.models.build import _find_config, meta_build, precheck
from kexue.models.config import load_config_dict
from kexue.models.loading import check_dtype, check_key_map
from kexue.models.registry import Family, config_defaults, get_family
from kexue.models.saving import assemble, hf_config, hf_plan, write_safetensors
from kexue.models.sources import TensorSource, open_checkpoint
from kexue.models.tf_bundle import TFCheckpoint, find_prefix

__all__ = ["convert_checkpoint", "TOKENIZER_FILES"]

#: Tokenizer files copied from beside the source checkpoint when present.
TOKENIZER_FILES = ("vocab.txt", "spiece.model", "sentencepiece.model", "encoder.json", "vocab.bpe")
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _with(family: Family, config, options: dict[str, Any], heads: dict[str, Any]):
    names = {f.name for f in dataclasses.fields(config)}
    on_config = {k: v for k, v in heads.items() if k in names}
    config = dataclasses.replace(config, **on_config) if on_config else config
    return config, {**options, **{k: v for k, v in heads.items() if k not in names}}


def _meta(family: Family, config, options: dict[str, Any]):
    return meta_build(family, config, "encoder" if family.name != "gpt2" else "lm", options)


def _plan_model(family: Family, config, source: TensorSource, fmt: str):
    """The meta model with exactly the heads the checkpoint holds."""
    keys = source.keys()
    options = dict(family.options)
    full_config, full_options = _with(family, config, options, family.heads)
    full = _meta(family, full_config, full_options)
    km = family.key_maps[fmt](full, keys, None)
    present = set(keys)
    absent = {
        name
        for name in full.state_dict()
        if name in km.rules and km.rules[name].source not in present
        and (km.rules[name].source in km.unused or name in km.fresh)
    }
    heads = dict(family.heads)
    for head, on in family.heads.items():
        off_config, off_options = _with(family, config, options, {**heads, head: _off(on)})
        added = set(full.state_dict()) - set(_meta(family, off_config, off_options).state_dict())
        if added and added <= absent:
            heads[head] = _off(on)
    config, options = _with(family, config, options, heads)
    return _meta(family, config, options), options


def _off(value: Any) -> Any:
    return False if isinstance(value, bool) else None


def convert_checkpoint(
    src: str | Path,
    dst: str | Path,
    *,
    model: str = "bert",
    config_path: str | Path | None = None,
    dtype: str = "float32",
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the checkpoint ``src`` (TF prefix/directory, or HF-format) of family ``model`` as
    an HF-format directory ``dst``; returns ``dst``.

    ``progress(done_bytes, total_bytes)`` is called after each tensor is written.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    out_dtype = DTYPES[dtype]
    family = get_family(model)
    source = open_checkpoint(src)
    fmt = "tf" if isinstance(source, TFCheckpoint) else "hf"
    if config_path is None:
        config_path = _find_config(src)
    data = load_config_dict(config_path)
    for key, value in config_defaults(model).items():
        data.setdefault(key, value)
    config = family.config_class.from_dict(data)
    meta, options = _plan_model(family, config, source, fmt)
    precheck(family, meta.config, "encoder" if family.name != "gpt2" else "lm", options, source,
             fmt)
    km = family.key_maps[fmt](meta, source.keys(), None)
    report = check_key_map(meta, source, km, family=family.name, source=source.path)
    skip = set(report.initialised)  # fresh parameters have no stored value: not written
    plan = {
        key: parts
        for key, parts in hf_plan(meta, family).items()
        if not any(name in skip for name, _ in parts)
    }
    params = meta.state_dict()
    entries = []
    for key, parts in plan.items():
        shape = tuple(assemble(key, parts, params.__getitem__).shape)
        entries.append((key, out_dtype, shape))
    total = sum(out_dtype.itemsize * _numel(s) for _, _, s in entries)
    cache: dict[str, torch.Tensor] = {}

    def value_of(name: str) -> torch.Tensor:
        rule = km.rules[name]
        raw = cache.get(rule.source)
        if raw is None:
            raw = source.get(rule.source)
            check_dtype(raw, params[name], rule.source, name, source.path)
            cache.clear()
            cache[rule.source] = raw
        return rule.convert(raw).to(out_dtype)

    done = 0

    def produce(key: str) -> torch.Tensor:
        nonlocal done
        t = assemble(key, plan[key], value_of)
        done += t.numel() * out_dtype.itemsize
        return t

    def step(_: int) -> None:
        if progress is not None:
            progress(done, total)

    folder = find_prefix(src)
    folder = folder.parent if folder is not None else Path(src)
    with atomic_directory(dst, overwrite=overwrite) as tmp:
        with open(tmp / "model.safetensors", "wb") as f:
            write_safetensors(f, entries, produce, progress=step)
        cache.clear()
        config_json = hf_config(meta, family)
        (tmp / "config.json").write_text(json.dumps(config_json, indent=2) + "\n",
                                         encoding="utf-8")
        if folder.is_dir():
            for name in TOKENIZER_FILES:
                if (folder / name).is_file():
                    shutil.copyfile(folder / name, tmp / name)
    return Path(dst)


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
