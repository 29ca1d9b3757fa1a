"""Resumable batch samplers: shuffled batches and length-bucketed batches, rank-aware.

Both are ``batch_sampler`` objects for ``torch.utils.data.DataLoader``. The order of epoch
``e`` is a pure function of ``(seed, e)``, so a run that stops anywhere resumes on exactly the
next batch: ``set_epoch(e, start=k)`` skips the ``k`` batches already consumed, and
``state_dict()`` / ``load_state_dict()`` carry ``(epoch, start)``.

Under data parallelism (``num_replicas`` = world size) the sampler first builds *global*
batches of ``batch_size * num_replicas`` examples and hands rank ``r`` the ``r``-th contiguous
slice of each, so two ranks with batch ``b`` see exactly what one process with batch ``2b``
sees (and DistributedDataParallel's mean of the ranks' mean losses is that process's mean loss).
A final, incomplete global batch is split as evenly as possible (sizes differ by at most one)
and dropped when it has fewer examples than ranks; ``drop_last=True`` drops it always.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["LengthBucketSampler", "ShuffledBatchSampler"]


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


class ShuffledBatchSampler:
    """Batches of a random permutation of ``range(size)`` (or in order with ``shuffle=False``).

    Args:
        size: number of examples.
        batch_size: examples per batch on each rank.
        shuffle: permute the examples each epoch (seeded by ``(seed, epoch)``).
        seed: the seed of the permutations.
        drop_last: drop the final incomplete global batch.
        num_replicas, rank: world size and this process's rank (data parallelism).
    """

    def __init__(self, size: int, batch_size: int, *, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False, num_replicas: int = 1, rank: int = 0) -> None:
        self.size = _check_int("size", size, 0)
        self.batch_size = _check_int("batch_size", batch_size, 1)
        self.num_replicas = _check_int("num_replicas", num_replicas, 1)
        self.rank = _check_int("rank", rank, 0)
        if self.rank >= self.num_replicas:
            raise ValueError(f"rank {rank} is not below num_replicas {num_replicas}")
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        self.start = 0

    # ---- the order -----------------------------------------------------------------------
    def _rng(self, epoch: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, epoch])

    def _order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.size)
        return self._rng(epoch).permutation(self.size)

    def global_batches(self, epoch: int) -> list[np.ndarray]:
        """Every global batch (``batch_size * num_replicas`` examples) of ``epoch``."""
        order = self._order(epoch)
        g = self.batch_size * self.num_replicas
        return [order[i:i + g] for i in range(0, len(order), g)]

    def _local(self, batch: np.ndarray) -> list[int] | None:
        n, w = len(batch), self.num_replicas
        if n == self.batch_size * w:
            return batch[self.rank * self.batch_size:(self.rank + 1) * self.batch_size].tolist()
        if self.drop_last or n < w:
            return None
        bounds = np.linspace(0, n, w + 1).round().astype(int)
        return batch[bounds[self.rank]:bounds[self.rank + 1]].tolist()

    def batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches of ``epoch``."""
        out = []
        for b in self.global_batches(epoch):
            local = self._local(b)
            if local is not None:
                out.append(local)
        return out

    # ---- the sampler protocol ------------------------------------------------------------
    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Iterate over epoch ``epoch`` from its batch ``start`` (batches already consumed)."""
        self.epoch = _check_int("epoch", epoch, 0)
        self.start = _check_int("start", start, 0)

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches(self.epoch)[self.start:]

    def __len__(self) -> int:
        """Batches per epoch on this rank (a full epoch, whatever ``start`` is)."""
        full, rest = divmod(self.size, self.batch_size * self.num_replicas)
        return full + int(rest > 0 and not self.drop_last and rest >= self.num_replicas)

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "start": self.start, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state.get("seed", self.seed) != self.seed:
            raise ValueError(f"the saved sampler used seed {state['seed']}, this one {self.seed}")
        self.set_epoch(state["epoch"], state["start"])


class LengthBucketSampler(ShuffledBatchSampler):
    """Length-bucketed batches: similar lengths together, so less padding.

    Each epoch the examples are shuffled, cut into windows of ``window`` global batches,
    sorted by length inside each window, cut into batches, and the batches are shuffled
    (bert4keras users' "sort within a window" trick). Batches stay random from epoch to epoch
    while their members have nearly equal lengths. ``window=1`` is plain shuffling.

    Args:
        lengths: the length of each example (e.g. its number of tokens).
        batch_size, shuffle, seed, drop_last, num_replicas, rank: as
            :class:`ShuffledBatchSampler`.
        window: number of global batches sorted together.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, *, window: int = 100,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False,
                 num_replicas: int = 1, rank: int = 0) -> None:
        self.lengths = np.asarray(lengths)
        if self.lengths.ndim != 1 or not np.issubdtype(self.lengths.dtype, np.integer):
            raise ValueError("lengths must be a flat sequence of ints")
        super().__init__(len(self.lengths), batch_size, shuffle=shuffle, seed=seed,
                         drop_last=drop_last, num_replicas=num_replicas, rank=rank)
        self.window = _check_int("window", window, 1)

    def global_batches(self, epoch: int) -> list[np.ndarray]:
        rng = self._rng(epoch)
        order = rng.permutation(self.size) if self.shuffle else np.arange(self.size)
        g = self.batch_size * self.num_replicas
        span = g * self.window
        out: list[np.ndarray] = []
        for i in range(0, len(order), span):
            chunk = order[i:i + span]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            out.extend(chunk[j:j + g] for j in range(0, len(chunk), g))
        if self.shuffle:
            full = [b for b in out if len(b) == g]
            partial = [b for b in out if len(b) != g]
            out = [full[k] for k in rng.permutation(len(full))] + partial
        return out

    def __len__(self) -> int:
        g = self.batch_size * self.num_replicas
        n = 0
        for i in range(0, self.size, g * self.window):
            full, rest = divmod(min(self.size - i, g * self.window), g)
            n += full + int(rest > 0 and not self.drop_last and rest >= self.num_replicas)
        return n
