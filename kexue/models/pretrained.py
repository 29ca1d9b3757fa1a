"""The ``save_pretrained`` method every kexue model has (see :mod:`kexue.models.saving`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

__all__ = ["SavesPretrained"]


class SavesPretrained:
    """Mixin of every kexue model: ``model.save_pretrained(path, vocab=None,
    overwrite=False)``, ``model.device``, ``model.dtype`` and ``model.num_parameters()``."""

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters (the first one's; kexue never splits a model)."""
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """The floating-point dtype of the model's parameters."""
        return next(p.dtype for p in self.parameters() if p.is_floating_point())

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of parameters (tied weights counted once); ``trainable_only`` counts
        those with ``requires_grad``."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def save_pretrained(self, path: str | Path, **kwargs: Any) -> Path:
        """Write this model as an HF-format directory (:func:`kexue.models.save_pretrained`)."""
        from kexue.models.saving import save_pretrained

        return save_pretrained(self, path, **kwargs)
