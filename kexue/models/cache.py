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
        # Buffers (batch, heads, capacity, head_size); the first _lengths[i] positions are live.
        self._keys: list[torch.Tensor | None] = [None] * num_layers
        self._values: list[torch.Tensor | None] = [None] * num_layers
        self._lengths = [0] * num_layers
        self.cross: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * num_layers
        self.state: dict[str, torch.Tensor] = {}

    @property
    def length(self) -> int:
        return self._lengths[0]

    @property
    def batch_size(self) -> int | None:
        for t in (self._keys[0], *self.state.values()):
            if t is not None:
                return int(t.shape[0])
        return None

    def keys(self, layer: int) -> torch.Tensor | None:
        """The cached keys of ``layer``, ``(batch, heads, length, head_size)``."""
        k = self._keys[layer]
        return None if k is None else k[:, :, : self._lengths[layer]]

    def values(self, layer: int) -> torch.Tensor | None:
        v = self._values[layer]
        return None if v is None else v[:, :, : self._lengths[layer]]

    def append(
        self, layer: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append new ``k, v`` at ``layer``; return all cached keys/values of that layer.

        Storage grows by doubling, so a step writes only the new positions (no O(length)
        concatenation per step). Under autograd it concatenates instead, so cached tensors
        are never modified in place.
        """
        old_k, old_v, n = self._keys[layer], self._values[layer], self._lengths[layer]
        new = k.shape[2]
        if old_k is not None and old_k.shape[0] != k.shape[0]:
            raise ValueError(f"cache holds batch {old_k.shape[0]}, got batch {k.shape[0]}")
        if torch.is_grad_enabled() and (k.requires_grad or v.requires_grad):
            if old_k is not None:
                k = torch.cat([old_k[:, :, :n], k], dim=2)
                v = torch.cat([old_v[:, :, :n], v], dim=2)
            self._keys[layer], self._values[layer], self._lengths[layer] = k, v, k.shape[2]
            return k, v
        if old_k is None or n + new > old_k.shape[2]:
            capacity = max(2 * (old_k.shape[2] if old_k is not None else 0), n + new, 16)
            shape = (k.shape[0], k.shape[1], capacity, k.shape[3])
            buf_k, buf_v = k.new_empty(shape), v.new_empty(shape[:3] + (v.shape[3],))
            if old_k is not None:
                buf_k[:, :, :n] = old_k[:, :, :n]
                buf_v[:, :, :n] = old_v[:, :, :n]
            self._keys[layer], self._values[layer] = buf_k, buf_v
        self._keys[layer][:, :, n : n + new] = k
        self._values[layer][:, :, n : n + new] = v
        self._lengths[layer] = n + new
        return self.keys(layer), self.values(layer)

    def get_cross(self, layer: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        return self.cross[layer]

    def set_cross(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> None:
        self.cross[layer] = (k, v)

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` (beam search), in place, everywhere in the cache.

        The self-attention buffers keep their capacity: the live positions are gathered into a
        buffer of the same capacity, so the next ``append`` writes in place instead of growing
        (and copying) the whole cache again after every beam-search step.
        """
        index = torch.as_tensor(index, dtype=torch.long)

        def pick(t: torch.Tensor) -> torch.Tensor:
            return t.index_select(0, index.to(t.device))

        def pick_live(buf: torch.Tensor, n: int) -> torch.Tensor:
            new = buf.new_empty((index.numel(), *buf.shape[1:]))
            torch.index_select(buf[:, :, :n], 0, index.to(buf.device), out=new[:, :, :n])
            return new

        for i in range(self.num_layers):
            if self._keys[i] is not None:
                self._keys[i] = pick_live(self._keys[i], self._lengths[i])
                self._values[i] = pick_live(self._values[i], self._lengths[i])
            if self.cross[i] is not None:
                k, v = self.cross[i]
                self.cross[i] = (pick(k), pick(v))
        self.state = {name: pick(t) for name, t in self.state.items()}

    def __repr__(self) -> str:
        return f"KVCache(layers={self.num_layers}, length={self.length}, batch={self.batch_size})"
