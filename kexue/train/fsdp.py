"""Fully sharded data parallelism (``fit(..., strategy="fsdp")``) on PyTorch's FSDP2.

FSDP2 (``torch.distributed.fsdp.fully_shard``) replaces each parameter of a sharded module by
a ``DTensor`` that holds one slice of it (rows ``chunk(world_size)[rank]`` of dim 0) on each
rank; a unit's full parameters are all-gathered just before its forward and backward, and its
gradients are reduce-scattered (averaged over the ranks, as DDP's all-reduce does) after its
backward. Parameter names stay those of the plain module, so the state dicts below have the
same keys with or without sharding. It runs on CPU with ``gloo`` in this torch (2.13).

kexue's resumable checkpoints stay in one format whatever the strategy: every sharded tensor
(parameter, optimizer moment, EMA average) is gathered into its full, unsharded CPU tensor
(:func:`gather_full`, every rank takes part, rank 0 keeps it) and written by rank 0; on
resume every rank reads the file and cuts its own slice out of each full tensor
(:func:`load_full_model_state`, :func:`shard_optimizer_state`), with no communication. So a
checkpoint written under FSDP resumes under DDP or in one process, and the other way round.

Pitfalls: the optimizer must be built from the sharded parameters (``fully_shard`` replaces
the parameters, so an optimizer built before holds stale ones): ``fit`` takes a function
``model -> optimizer`` and calls it after sharding. Every forward of a sharded model is a
collective: under FSDP, ``eval_fn`` must run the same number of forward calls on every rank.
Parameters shared between two units (tied weights) must sit in the same unit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

__all__ = [
    "default_units",
    "gather_full",
    "is_sharded",
    "load_full_model_state",
    "shard_model",
    "shard_optimizer_state",
]


def _dtensor_type() -> type:
    from torch.distributed.tensor import DTensor

    return DTensor


def is_sharded(t: Any) -> bool:
    """True for a ``DTensor`` (a sharded parameter, gradient or optimizer state)."""
    return isinstance(t, torch.Tensor) and isinstance(t, _dtensor_type())


def default_units(model: nn.Module) -> Callable[[nn.Module], bool]:
    """The default choice of FSDP units in ``model``: every module held in an
    ``nn.ModuleList`` (the layers of a transformer) is a unit of its own; the rest of the
    model forms the root unit."""
    chosen = {id(child) for m in model.modules() if isinstance(m, nn.ModuleList)
              for child in m}
    return lambda module: id(module) in chosen


def shard_model(model: nn.Module, device: torch.device, world_size: int,
                units: Callable[[nn.Module], bool] | None = None,
                **fsdp_kwargs: Any) -> nn.Module:
    """``fully_shard`` every submodule ``units`` selects (innermost first), then the root.

    ``model`` is changed in place (its class becomes an ``FSDPModule``) and returned. The
    process group must be up (``kexue.train.distributed.setup``); ``fsdp_kwargs`` go to
    ``fully_shard`` (``mp_policy``, ``reshard_after_forward``, ``offload_policy``...)."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    if "mesh" in fsdp_kwargs:
        raise ValueError("fsdp_kwargs: the mesh is built by fit (one dimension of all ranks)")
    mesh = init_device_mesh(device.type, (world_size,))
    chosen = units or default_units(model)
    # modules() is pre-order (each module once): reversed, every child comes before its parent
    for m in reversed(list(model.modules())[1:]):
        if chosen(m) and any(True for _ in m.parameters()):
            fully_shard(m, mesh=mesh, **fsdp_kwargs)
    fully_shard(model, mesh=mesh, **fsdp_kwargs)
    return model


def gather_full(obj: Any, keep: bool = True) -> Any:
    """``obj`` (a tensor or nested dicts / lists / tuples of them) with every sharded tensor
    replaced by its full tensor on the CPU; plain tensors are copied to the CPU.

    Under FSDP every rank must call it on the same structure (each ``DTensor`` is one
    all-gather, in the same order on every rank). ``keep=False`` takes part in the gathers
    and returns ``None`` (no copy is kept: the memory of one tensor at a time)."""
    if isinstance(obj, torch.Tensor):
        if is_sharded(obj):
            full = obj.detach().full_tensor()
            return full.to("cpu", copy=True) if keep else None
        return obj.detach().to("cpu", copy=True) if keep else None
    if isinstance(obj, Mapping):
        out = {k: gather_full(v, keep) for k, v in obj.items()}
        return out if keep else None
    if isinstance(obj, list | tuple):
        seq = [gather_full(v, keep) for v in obj]
        return type(obj)(seq) if keep else None
    return obj if keep else None


def _shard_like(full: torch.Tensor, like: torch.Tensor, what: str) -> torch.Tensor:
    """This rank's slice of ``full``, placed as ``like`` (a ``DTensor``); no communication."""
    from torch.distributed.tensor import distribute_tensor

    if tuple(full.shape) != tuple(like.shape):
        raise ValueError(f"{what}: the saved tensor has shape {tuple(full.shape)}, the sharded "
                         f"one {tuple(like.shape)}")
    full = full.detach().to(device=like.device, dtype=like.dtype)
    # src_data_rank=None: every rank holds the full tensor and keeps its own slice
    return distribute_tensor(full, like.device_mesh, like.placements, src_data_rank=None)


def load_full_model_state(model: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Load a full (unsharded) state dict into a sharded model: each rank keeps its slice."""
    own = model.state_dict()
    sharded = {k: _shard_like(v, own[k], k) if k in own and is_sharded(own[k]) else v
               for k, v in state.items()}
    model.load_state_dict(sharded)


def shard_optimizer_state(optimizer: torch.optim.Optimizer,
                          state: Mapping[str, Any]) -> dict[str, Any]:
    """A full optimizer ``state_dict`` (as a single process writes it) with every per-parameter
    tensor of a sharded parameter's shape (moments, EMA averages, slow weights) cut to this
    rank's slice, ready for ``optimizer.load_state_dict``. 0-d tensors (step counts) stay.

    Raises ``ValueError`` for another per-parameter tensor of a sharded parameter (e.g. a
    factored second moment): its sharding cannot be derived from the parameter's."""
    params = [p for g in optimizer.param_groups for p in g["params"]]

    def convert(per_param: Mapping[Any, Any], section: str) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for idx, entry in per_param.items():
            p = params[idx] if isinstance(idx, int) and 0 <= idx < len(params) else None
            if p is None or not is_sharded(p) or not isinstance(entry, Mapping):
                out[idx] = entry
                continue
            new = {}
            for key, v in entry.items():
                if not isinstance(v, torch.Tensor) or v.dim() == 0:
                    new[key] = v
                elif tuple(v.shape) == tuple(p.shape):
                    new[key] = _shard_like(v, p, f"optimizer {section}[{idx}][{key!r}]")
                else:
                    raise ValueError(
                        f"optimizer {section}[{idx}][{key!r}] has shape {tuple(v.shape)}, its "
                        f"parameter {tuple(p.shape)}: a state of another shape cannot be "
                        f"sharded like the parameter under FSDP")
            out[idx] = new
        return out

    result = dict(state)
    result["state"] = convert(state.get("state", {}), "state")
    if "extension_state" in state:
        result["extension_state"] = convert(state["extension_state"], "extension_state")
    return result
