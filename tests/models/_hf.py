"""Helpers for parity tests: tiny random HF models saved to a temp dir, random padded inputs."""

from __future__ import annotations

from pathlib import Path

import torch


def save_hf(model, path: Path) -> Path:
    """``save_pretrained`` a freshly initialised HF model (eval mode) into ``path``."""
    model.eval()
    model.save_pretrained(str(path))
    return path


def randomize(model, scale: float = 0.2) -> None:
    """Give every parameter non-trivial random values (LN gains, biases, ...)."""
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and name.endswith("weight"):
                p.copy_(1.0 + scale * torch.randn(p.shape, generator=g))
            else:
                p.copy_(scale * torch.randn(p.shape, generator=g))


def padded_batch(vocab: int, lengths: list[int], *, left: bool = False, pad: int = 0):
    """Random ids ``(batch, max_len)`` and a 1/0 mask with the given lengths."""
    n = max(lengths)
    ids = torch.randint(1, vocab, (len(lengths), n))
    mask = torch.zeros(len(lengths), n, dtype=torch.long)
    for i, m in enumerate(lengths):
        if left:
            mask[i, n - m :] = 1
        else:
            mask[i, :m] = 1
    ids = ids.masked_fill(mask == 0, pad)
    return ids, mask


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item()
