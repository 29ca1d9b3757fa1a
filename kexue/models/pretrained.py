"""The ``save_pretrained`` method every kexue model has (see :mod:`kexue.models.saving`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["SavesPretrained"]


class SavesPretrained:
    """Mixin: ``model.save_pretrained(path, vocab=None, overwrite=False)``."""

    def save_pretrained(self, path: str | Path, **kwargs: Any) -> Path:
        """Write this model as an HF-format directory (:func:`kexue.models.save_pretrained`)."""
        from kexue.models.saving import save_pretrained

        return save_pretrained(self, path, **kwargs)
