"""Small helpers shared by the prompting modules: the model's device and position limit,
one batched forward pass."""

from __future__ import annotations

import torch

from kexue.data.batching import sequence_padding
from kexue.models.outputs import ModelOutput


def device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def max_positions(model: torch.nn.Module) -> int | None:
    """The model's ``max_position_embeddings`` (``None`` if it has no such limit)."""
    cfg = getattr(model, "config", None)
    return getattr(cfg, "max_position_embeddings", None)


def resolve_maxlen(model: torch.nn.Module, maxlen: int | None) -> int:
    limit = max_positions(model)
    if maxlen is None:
        if limit is None:
            raise ValueError("the model states no position limit: pass maxlen=")
        return int(limit)
    if not isinstance(maxlen, int) or maxlen < 3:
        raise ValueError(f"maxlen must be an int >= 3, got {maxlen!r}")
    if limit is not None and maxlen > limit:
        raise ValueError(f"maxlen={maxlen} is more than the model's {limit} positions")
    return maxlen


def forward(model: torch.nn.Module, rows: list[list[int]], segments: list[list[int]],
            pad_id: int = 0) -> ModelOutput:
    """Pad ``rows`` and run ``model`` (caller holds ``no_grad``/``eval``)."""
    dev = device_of(model)
    ids = torch.from_numpy(sequence_padding(rows, value=pad_id, dtype="int64")).to(dev)
    seg = torch.from_numpy(sequence_padding(segments, value=0, dtype="int64")).to(dev)
    mask = torch.from_numpy(sequence_padding([[1] * len(r) for r in rows], value=0,
                                             dtype="int64")).to(dev)
    out = model(ids, seg, attention_mask=mask)
    if not isinstance(out, ModelOutput):
        raise TypeError("the model must return a kexue ModelOutput (build it with "
                        "kexue.models.build_transformer_model)")
    return out


def load(directory, *, with_mlm: bool = False, with_nsp: bool = False,
         with_pool: bool = False):
    """``(model, tokenizer)`` of an HF-format model directory holding ``vocab.txt`` (the family
    comes from its ``config.json``); eval mode."""
    from pathlib import Path

    from kexue.models import build_transformer_model
    from kexue.text import Tokenizer

    directory = Path(directory)
    vocab = directory / "vocab.txt"
    if not vocab.is_file():
        raise FileNotFoundError(f"{directory} has no vocab.txt (a BERT-family model "
                                f"directory: config.json, weights, vocab.txt)")
    heads = {k: True for k, v in (("with_mlm", with_mlm), ("with_nsp", with_nsp),
                                  ("with_pool", with_pool or with_nsp)) if v}
    model = build_transformer_model(checkpoint_path=directory, **heads)
    return model.eval(), Tokenizer(vocab)
