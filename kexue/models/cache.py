"""The key/value cache of incremental decoding (contract: docs/design.md, "Model contract")."""

from __future__ import annotations

import torch

__all__ = ["KVCache"]


class KVCache:
    """Per-layer keys/values ``(batch, heads, length, head_size)`` plus mask bookkeeping.

    A model appends the keys/values of the tokens it is fed (``append``), so a later call that
    passes only new tokens attends to cached + new keys. Cross-attention keys/values (T5) are
    computed once (``set_cross``). ``state`` holds whatever a model's mask needs to remember
    (e.g. the UniLM segment index of every cached position, the T5 encoder mask).

    Attributes:
        length: number of cached positions.
    """

    def __init__(self, num_layers: int) -> None:
        if num_layers <= 0:
            raise ValueError(f"num_layers must be positive, got {num_layers}")
        self.num_layers = int(num_layers)
        self.keys: list[torch.Tensor | None] = [None] * num_layers
        self.values: list[torch.Tensor | None] = [None] * num_layers
        self.cross: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * num_layers
        self.state: dict[str, torch.Tensor] = {}

    @property
    def length(self) -> int:
        k = self.keys[0]
        return 0 if k is None else int(k.shape[2])

    @property
    def batch_size(self) -> int | None:
        for t in (self.keys[0], *self.state.values()):
            if t is not None:
                return int(t.shape[0])
        return None

    def append(
        self, layer: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append new ``k, v`` at ``layer``; return all cached keys/values of that layer."""
        old_k, old_v = self.keys[layer], self.values[layer]
        if old_k is not None:
            if old_k.shape[0] != k.shape[0]:
                raise ValueError(f"cache holds batch {old_k.shape[0]}, got batch {k.shape[0]}")
            k = torch.cat([old_k, k], dim=2)
            v = torch.cat([old_v, v], dim=2)
        self.keys[layer], self.values[layer] = k, v
        return k, v

    def get_cross(self, layer: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        return self.cross[layer]

    def set_cross(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> None:
        self.cross[layer] = (k, v)

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` (beam search), in place, everywhere in the cache."""
        index = torch.as_tensor(index, dtype=torch.long)

        def pick(t: torch.Tensor) -> torch.Tensor:
            return t.index_select(0, index.to(t.device))

        for i in range(self.num_layers):
            if self.keys[i] is not None:
                self.keys[i] = pick(self.keys[i])
                self.values[i] = pick(self.values[i])
            if self.cross[i] is not None:
                k, v = self.cross[i]
                self.cross[i] = (pick(k), pick(v))
        self.state = {name: pick(t) for name, t in self.state.items()}

    def __repr__(self) -> str:
        return f"KVCache(layers={self.num_layers}, length={self.length}, batch={self.batch_size})"
