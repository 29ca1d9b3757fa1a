"""torchrun / ``torch.distributed`` helpers: set-up, rank, sharding and metric reduction.

kexue trains data-parallel with PyTorch's own engines (``DistributedDataParallel``, whose
gradient all-reduce happens in backward, or FSDP2 with ``strategy="fsdp"``, see
:mod:`kexue.train.fsdp`), never with home-made gradient synchronisation. A script
started by ``torchrun --nproc_per_node=N script.py`` finds the usual torchrun variables
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``) in its
environment; :func:`setup` reads them and joins the process group (``gloo`` on CPU, ``nccl``
on CUDA). Without them every helper acts as a world of one process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeVar

import torch
import torch.distributed as dist

__all__ = [
    "all_reduce_sum",
    "barrier",
    "is_distributed",
    "is_main_process",
    "rank",
    "reduce_mean",
    "setup",
    "shard",
    "world_size",
]

T = TypeVar("T")


def is_distributed() -> bool:
    """True when a process group with more than one process is running."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """Rank 0 (or the only process): the one that writes checkpoints and logs."""
    return rank() == 0


def setup(backend: str | None = None) -> tuple[int, int]:
    """Join torchrun's process group if this process was started by torchrun.

    Returns ``(rank, world_size)``; ``(0, 1)`` when not under torchrun. ``backend`` defaults to
    ``nccl`` when CUDA is available, else ``gloo``. Under CUDA the process's device is set to
    ``LOCAL_RANK``. Calling it again (or after the user's own ``init_process_group``) is a no-op.
    """
    if not dist.is_available():
        return 0, 1
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return 0, 1
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def shard(items: Sequence[T]) -> Sequence[T]:
    """This rank's share of ``items`` for evaluation: every ``world_size``-th item from
    ``rank``. Every item is on exactly one rank; the whole sequence when not distributed."""
    if not is_distributed():
        return items
    return items[rank()::world_size()]  # type: ignore[return-value]


def _device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(value: Any) -> Any:
    """Sum ``value`` (a number or a tensor) over the ranks; returns the same kind.

    Numbers travel as float64 (int inputs come back as int), so counts and sums of a metric
    reduce exactly."""
    if not is_distributed():
        return value
    if isinstance(value, torch.Tensor):
        out = value.detach().clone().to(_device())
        dist.all_reduce(out)
        return out.to(value.device)
    is_int = isinstance(value, int) and not isinstance(value, bool)
    t = torch.tensor([float(value)], dtype=torch.float64, device=_device())
    dist.all_reduce(t)
    return int(round(t.item())) if is_int else t.item()


def reduce_mean(value: float, weight: float = 1.0) -> float:
    """The ``weight``-weighted mean of ``value`` over the ranks, e.g. a shard's accuracy
    weighted by its number of examples gives the accuracy over all the data."""
    if not is_distributed():
        return float(value)
    t = torch.tensor([float(value) * weight, float(weight)], dtype=torch.float64,
                     device=_device())
    dist.all_reduce(t)
    return (t[0] / t[1]).item()


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order; ``[obj]`` when not distributed."""
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out
