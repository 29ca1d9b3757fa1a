"""``fit``: a small, resumable training loop for any ``nn.Module`` and loss function.

The loop of kexue.fm/archives/5765's Keras ``model.fit`` in PyTorch: epochs or steps,
gradient accumulation, clipping, mixed precision, any ``torch.optim`` optimizer (kexue's
wrappers included) and LR scheduler, Keras-style callbacks, exact resume after a crash, and
data parallelism under ``torchrun`` with PyTorch's ``DistributedDataParallel`` or, with
``strategy="fsdp"``, fully sharded with FSDP2 (:mod:`kexue.train.fsdp`).

Example (bert4keras-style; ``train_data`` is a list of dicts)::

    trainer = fit(model, loss_fn, train_data, optimizer=opt, batch_size=32, epochs=5,
                  collate_fn=PadCollate(), callbacks=[Evaluator(evaluate)],
                  checkpoint_dir="runs/sentiment", resume=True)

``loss_fn(model, batch)`` returns the mean loss of the batch as a scalar tensor.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset

from kexue.data.samplers import LengthBucketSampler, ShuffledBatchSampler
from kexue.train import distributed, fsdp
from kexue.train.callbacks import CallbackList
from kexue.train.checkpoint import (
    CheckpointError,
    check_model_keys,
    checkpoint_path,
    get_rng_state,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
    set_rng_state,
)
from kexue.train.logs import CSVLogger, ProgressBar

__all__ = ["NonFiniteLossError", "Trainer", "fit"]

_PRECISIONS = ("fp32", "bf16", "fp16")
_STRATEGIES = ("ddp", "fsdp")


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; ``step`` is the first bad optimizer step."""

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


def _to_device(batch: Any, device: torch.device, non_blocking: bool) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return type(batch)(_to_device(v, device, non_blocking) for v in batch)
    return batch


def _batch_size(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else 1
    values: Iterable[Any] = ()
    if isinstance(batch, Mapping):
        values = batch.values()
    elif isinstance(batch, tuple | list):
        values = batch
    for v in values:
        n = _batch_size(v)
        if n:
            return n
    return 0


class Trainer:
    """The state of one ``fit`` run; callbacks receive it (see :mod:`kexue.train.callbacks`).

    Build it through :func:`fit` (same arguments); ``Trainer(...).run()`` is the same thing.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[nn.Module, Any], torch.Tensor],
        data: Any,
        *,
        optimizer: torch.optim.Optimizer | Callable[[nn.Module], torch.optim.Optimizer],
        collate_fn: Callable[[list[Any]], Any] | None = None,
        batch_size: int = 32,
        epochs: int | None = None,
        steps: int | None = None,
        scheduler: Any = None,
        grad_accum: int = 1,
        clip_grad_norm: float | None = None,
        precision: str = "fp32",
        callbacks: Sequence[Any] = (),
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int | None = None,
        keep_checkpoints: int = 2,
        resume: bool | str | os.PathLike = False,
        compile: bool | Mapping[str, Any] = False,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
        lengths: Sequence[int] | None = None,
        bucket_window: int = 100,
        num_workers: int = 0,
        device: str | torch.device | None = None,
        log_every: int = 50,
        progress: bool = True,
        strategy: str = "ddp",
        ddp_kwargs: Mapping[str, Any] | None = None,
        fsdp_kwargs: Mapping[str, Any] | None = None,
        fsdp_units: Callable[[nn.Module], bool] | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        if not callable(loss_fn):
            raise TypeError("loss_fn must be a function (model, batch) -> scalar loss tensor")
        if strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {_STRATEGIES}, got {strategy!r}")
        if isinstance(optimizer, torch.optim.Optimizer):
            if strategy == "fsdp":
                raise TypeError("strategy='fsdp' builds the optimizer after sharding the model "
                                "(sharding replaces the parameters): pass a function, e.g. "
                                "optimizer=lambda model: torch.optim.Adam(model.parameters())")
        elif not callable(optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer or a function model -> "
                            f"optimizer, got {type(optimizer).__name__}")
        if strategy != "fsdp" and (fsdp_kwargs is not None or fsdp_units is not None):
            raise ValueError("fsdp_kwargs / fsdp_units need strategy='fsdp'")
        if strategy != "ddp" and ddp_kwargs is not None:
            raise ValueError("ddp_kwargs needs strategy='ddp'")
        if epochs is None and steps is None:
            raise ValueError("give epochs= and/or steps= (optimizer steps)")
        for name, value in (("epochs", epochs), ("steps", steps),
                            ("checkpoint_every", checkpoint_every)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        for name, value in (("batch_size", batch_size), ("grad_accum", grad_accum),
                            ("log_every", log_every), ("keep_checkpoints", keep_checkpoints)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if precision not in _PRECISIONS:
            raise ValueError(f"precision must be one of {_PRECISIONS}, got {precision!r}")
        if clip_grad_norm is not None and not (isinstance(clip_grad_norm, int | float)
                                               and clip_grad_norm > 0):
            raise ValueError(f"clip_grad_norm must be a number > 0, got {clip_grad_norm!r}")
        if resume is True and checkpoint_dir is None:
            raise ValueError("resume=True resumes from checkpoint_dir: give checkpoint_dir=")

        self.rank, self.world_size = distributed.setup()
        self.is_main = self.rank == 0
        self.model = model
        self.loss_fn = loss_fn
        self.epochs, self.max_steps = epochs, steps
        self.grad_accum, self.clip_grad_norm = grad_accum, clip_grad_norm
        self.log_every = log_every
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.checkpoint_every, self.keep_checkpoints = checkpoint_every, keep_checkpoints
        self.resume = resume
        if device is None:
            p = next(iter(model.parameters()), None)
            device = p.device if p is not None else torch.device("cpu")
        self.device = torch.device(device)
        self.precision = precision
        if precision == "fp16" and self.device.type != "cuda":
            raise ValueError("precision='fp16' needs a CUDA device (use 'bf16' on CPU)")
        self.scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
        self.autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)

        self.loader, self.batch_sampler = self._build_loader(
            data, collate_fn, batch_size, seed, shuffle, drop_last, lengths, bucket_window,
            num_workers)
        try:
            self.batches_per_epoch: int | None = len(self.loader)
        except TypeError:
            self.batches_per_epoch = None

        self.strategy = strategy
        self._distributed = self.world_size > 1
        self._fsdp = self._distributed and strategy == "fsdp"
        train_model: nn.Module = model
        if self._fsdp:
            fsdp.shard_model(model, self.device, self.world_size, fsdp_units,
                             **dict(fsdp_kwargs or {}))
        elif self._distributed:
            kwargs = dict(ddp_kwargs or {})
            if self.device.type == "cuda":
                kwargs.setdefault("device_ids", [self.device.index])
            train_model = nn.parallel.DistributedDataParallel(model, **kwargs)
        if not isinstance(optimizer, torch.optim.Optimizer):
            built = optimizer(model)
            if not isinstance(built, torch.optim.Optimizer):
                raise TypeError(f"the optimizer function returned {type(built).__name__}, not "
                                f"a torch.optim.Optimizer")
            optimizer = built
        self.optimizer = optimizer
        if callable(scheduler) and not hasattr(scheduler, "state_dict"):
            scheduler = scheduler(optimizer)  # a function optimizer -> scheduler
        if scheduler is not None and getattr(scheduler, "optimizer", optimizer) is not optimizer:
            raise ValueError("the scheduler drives another optimizer than fit's: with a function "
                             "as optimizer=, pass scheduler= as a function optimizer -> scheduler")
        self.scheduler = scheduler
        if compile:
            train_model = torch.compile(train_model, **(dict(compile) if isinstance(
                compile, Mapping) else {}))
        self.train_model = train_model

        cbs = list(callbacks)
        if progress:
            cbs.append(ProgressBar())
        if self.checkpoint_dir is not None:
            cbs.append(CSVLogger(self.checkpoint_dir / "log.csv"))
        self.callbacks = CallbackList(cbs)

        # counters and logs (all saved in checkpoints)
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.history: list[dict[str, Any]] = []
        self.stop_training = False
        self.last_logged: dict[str, Any] | None = None
        self.last_metrics: dict[str, float] = {}
        self.last_checkpoint: Path | None = None
        self._pending: list[tuple[int, int, float, torch.Tensor]] = []
        self._rng_to_restore: Any = None
        self._data_restored = False
        self._resumed_at_end = False

    # ---- data ----------------------------------------------------------------------------
    def _build_loader(self, data: Any, collate_fn: Any, batch_size: int, seed: int,
                      shuffle: bool, drop_last: bool, lengths: Any, bucket_window: int,
                      num_workers: int) -> tuple[Any, Any]:
        if isinstance(data, DataLoader):
            if collate_fn is not None or lengths is not None:
                raise ValueError("data is a DataLoader: set collate_fn / batching on it, not "
                                 "on fit")
            return data, None
        gen = torch.Generator()  # the loader's own seed source: the global RNG is not touched
        gen.manual_seed(seed)
        if isinstance(data, IterableDataset) or (
                not hasattr(data, "__getitem__") and hasattr(data, "__iter__")):
            if self.world_size > 1:
                warnings.warn("an iterable dataset under torchrun must shard itself by rank "
                              "(kexue.train.distributed.rank())", RuntimeWarning, stacklevel=3)
            if num_workers:
                raise ValueError("an iterable dataset is read with num_workers=0, so that its "
                                 "position (state_dict) matches the batches consumed")
            return DataLoader(data, batch_size=batch_size, collate_fn=collate_fn,
                              drop_last=drop_last, generator=gen), None
        if not hasattr(data, "__len__"):
            raise TypeError(f"data must be a map-style dataset (len + indexing), an iterable "
                            f"dataset or a DataLoader, got {type(data).__name__}")
        common = dict(batch_size=batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last,
                      num_replicas=self.world_size, rank=self.rank)
        if lengths is not None:
            if len(lengths) != len(data):
                raise ValueError(f"lengths has {len(lengths)} entries for {len(data)} examples")
            sampler: Any = LengthBucketSampler(lengths, window=bucket_window, **common)
        else:
            sampler = ShuffledBatchSampler(len(data), **common)
        loader = DataLoader(data, batch_sampler=sampler, collate_fn=collate_fn,
                            num_workers=num_workers, generator=gen,
                            pin_memory=self.device.type == "cuda")
        return loader, sampler

    def _set_position(self, epoch: int, start: int) -> None:
        if self.batch_sampler is not None:
            self.batch_sampler.set_epoch(epoch, start)
            return
        if self._data_restored:  # the restored state already holds the epoch and position
            return
        for obj in (getattr(self.loader, "batch_sampler", None),
                    getattr(self.loader, "sampler", None), getattr(self.loader, "dataset", None)):
            if obj is not None and hasattr(obj, "set_epoch"):
                obj.set_epoch(epoch)

    def _data_state(self) -> Any:
        if self.batch_sampler is not None:
            return self.batch_sampler.state_dict()
        for obj in (getattr(self.loader, "batch_sampler", None),
                    getattr(self.loader, "sampler", None), getattr(self.loader, "dataset", None)):
            if obj is not None and hasattr(obj, "state_dict") and hasattr(obj,
                                                                          "load_state_dict"):
                return {"kind": type(obj).__name__, "state": obj.state_dict()}
        return None

    def _load_data_state(self, state: Any) -> bool:
        """Restore the data position; False when the loader cannot (then batches are skipped)."""
        if self.batch_sampler is not None:
            self.batch_sampler.load_state_dict(state)
            return True
        if state is None:
            return False
        for obj in (getattr(self.loader, "batch_sampler", None),
                    getattr(self.loader, "sampler", None), getattr(self.loader, "dataset", None)):
            if obj is not None and type(obj).__name__ == state["kind"] and hasattr(
                    obj, "load_state_dict"):
                obj.load_state_dict(state["state"])
                return True
        return False

    # ---- EMA -----------------------------------------------------------------------------
    def eval_weights(self) -> contextlib.AbstractContextManager[Any]:
        """Swap the optimizer's EMA weights in (and back on exit) if it keeps an EMA."""
        ema = getattr(self.optimizer, "ema_weights", None)
        if ema is None or not any(g.get("ema_step", 0) for g in self.optimizer.param_groups):
            return contextlib.nullcontext()
        return ema()

    # ---- logging -------------------------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int | None:
        if self.batches_per_epoch is None:
            return None
        return -(-self.batches_per_epoch // self.grad_accum)

    @property
    def step_in_epoch(self) -> int:
        return -(-self.batch_in_epoch // self.grad_accum)

    def flush_losses(self) -> None:
        """Move the pending step losses to ``history`` (one device sync; under torchrun the
        losses are averaged over the ranks). Raises :class:`NonFiniteLossError` at the first
        NaN or infinite loss."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        values = torch.stack([p[3] for p in pending])
        if self._distributed:
            values = distributed.all_reduce_sum(values) / self.world_size
        rows = values.tolist()
        for (step, epoch, lr, _), row in zip(pending, rows):
            loss = row[0]
            if not math.isfinite(loss):
                where = (f"; the last checkpoint is {self.last_checkpoint}"
                         if self.last_checkpoint is not None else "")
                raise NonFiniteLossError(
                    f"training loss is {loss} at step {step} (epoch {epoch + 1}); stopped at "
                    f"step {self.step}, no checkpoint was written after it{where}", step)
            entry: dict[str, Any] = {"step": step, "epoch": epoch, "loss": loss, "lr": lr}
            if len(row) > 1:
                entry["grad_norm"] = row[1]
            self.history.append(entry)
            self.last_logged = entry

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        """Append an evaluation row (``step``, ``epoch``, metrics) to the history."""
        self.flush_losses()
        self.last_metrics = dict(metrics)
        self.history.append({"step": self.step, "epoch": self.epoch, **metrics})

    # ---- checkpoints ---------------------------------------------------------------------
    def full_model_state(self, keep: bool = True) -> dict[str, torch.Tensor] | None:
        """The model's full (unsharded) state dict, copied to the CPU.

        Under ``strategy="fsdp"`` this all-gathers the shards: call it on every rank (in the
        same place); ``keep=False`` takes part without keeping a copy and returns ``None``."""
        if not self._fsdp and not keep:
            return None
        return fsdp.gather_full(self.model.state_dict(), keep)

    def load_model_state(self, state: Mapping[str, torch.Tensor]) -> None:
        """Load a full state dict (as :meth:`full_model_state` gives) into the model; under
        FSDP every rank must hold ``state`` and keeps its own slice (no communication)."""
        if self._fsdp:
            fsdp.load_full_model_state(self.model, state)
        else:
            self.model.load_state_dict(state)

    def state_dict(self, keep: bool = True) -> dict[str, Any] | None:
        """Everything a resumable checkpoint holds but the RNG states, with full (unsharded)
        tensors. Under FSDP every rank must call it (it all-gathers the shards); ``keep=False``
        takes part and returns ``None``."""
        if self._fsdp:
            model = fsdp.gather_full(self.model.state_dict(), keep)
            optimizer = fsdp.gather_full(self.optimizer.state_dict(), keep)
            if not keep:
                return None
        elif not keep:
            return None
        else:
            model, optimizer = self.model.state_dict(), self.optimizer.state_dict()
        return {
            "format": 1,
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "world_size": self.world_size,
            "model": model,
            "optimizer": optimizer,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "data": self._data_state(),
            "history": self.history,
            "callbacks": self.callbacks.state_dict(),
        }

    def save_checkpoint(self) -> Path | None:
        """Write a resumable checkpoint (rank 0) and prune old ones; returns its path."""
        if self.checkpoint_dir is None:
            return None
        self.flush_losses()
        rng = distributed.gather_objects(get_rng_state())
        state = self.state_dict(keep=self.is_main) if self.is_main or self._fsdp else None
        if state is None:
            return None
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = checkpoint_path(self.checkpoint_dir, self.step)
        state["rng"] = rng
        save_checkpoint(path, state)
        self.last_checkpoint = path
        prune_checkpoints(self.checkpoint_dir, self.keep_checkpoints)
        self.callbacks.call("on_checkpoint", self, str(path))
        return path

    def _find_resume(self) -> tuple[Path, dict[str, Any]] | None:
        if self.resume is False or self.resume is None:
            return None
        if self.resume is True:
            assert self.checkpoint_dir is not None
            return latest_checkpoint(self.checkpoint_dir)
        src = Path(self.resume)
        if src.is_dir():
            found = latest_checkpoint(src)
            if found is None:
                raise CheckpointError(f"resume directory {src} holds no checkpoint "
                                      f"(ckpt-*.kexue)")
            return found
        if not src.exists():
            raise CheckpointError(f"resume checkpoint {src} does not exist")
        return src, load_checkpoint(src)

    def load_state_dict(self, state: Mapping[str, Any], source: str = "checkpoint") -> None:
        check_model_keys(self.model.state_dict(), state["model"], source)
        self.load_model_state(state["model"])
        try:
            optimizer_state = state["optimizer"]
            if self._fsdp:
                optimizer_state = fsdp.shard_optimizer_state(self.optimizer, optimizer_state)
            self.optimizer.load_state_dict(optimizer_state)
        except (ValueError, KeyError, RuntimeError) as e:
            raise CheckpointError(f"the optimizer state in {source} does not fit this "
                                  f"optimizer: {e}") from e
        if (state["scheduler"] is None) != (self.scheduler is None):
            had = "with" if state["scheduler"] is not None else "without"
            raise CheckpointError(f"{source} was saved {had} an LR scheduler, this run has "
                                  f"{'one' if self.scheduler is not None else 'none'}")
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.callbacks.load_state_dict(state["callbacks"])
        self.step, self.epoch = int(state["step"]), int(state["epoch"])
        self.batch_in_epoch = int(state["batch_in_epoch"])
        self.history = list(state["history"])
        self._data_restored = self._load_data_state(state["data"])
        rng = state.get("rng") or []
        if len(rng) == self.world_size:
            self._rng_to_restore = rng[self.rank]
        elif rng:
            warnings.warn(f"{source} was written by {len(rng)} processes, this run has "
                          f"{self.world_size}: RNG streams (dropout) are not restored exactly",
                          RuntimeWarning, stacklevel=2)
            self._rng_to_restore = rng[0]

    # ---- the loop ------------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def _check_loss(self, loss: Any) -> None:
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            raise TypeError(f"loss_fn must return a scalar tensor (the batch's mean loss), got "
                            f"{shape}")
        if not loss.requires_grad:
            raise ValueError("the loss does not require grad: does loss_fn use the model it "
                             "is given?")

    def _optimizer_step(self, step_loss: torch.Tensor, micro: int, examples: int) -> None:
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        if micro != self.grad_accum:  # a short window at the end of the epoch: mean over it
            with torch.no_grad():
                for p in params:
                    if p.grad is not None:
                        p.grad.mul_(self.grad_accum / micro)
        grad_norm = None
        if self.clip_grad_norm is not None:
            if self.scaler is not None:
                self.scaler.unscale_(self.optimizer)
            grad_norm = torch.nn.utils.clip_grad_norm_(params, self.clip_grad_norm)
            if fsdp.is_sharded(grad_norm):  # the same norm on every rank
                grad_norm = grad_norm.full_tensor()
        lr = self.optimizer.param_groups[0]["lr"]
        lr = float(lr) if isinstance(lr, torch.Tensor) else lr
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.scheduler is not None:
            self.scheduler.step()
        index = self.step
        self.step += 1
        loss = step_loss / micro
        record = (loss.double().reshape(1) if grad_norm is None  # float64 holds any loss
                  else torch.stack([loss.double(), grad_norm.double()]))
        self._pending.append((self.step, self.epoch, lr, record.detach()))
        logs = {"loss": loss, "examples": examples}
        self.callbacks.call("on_batch_end", self, index, logs)
        if self.step % self.log_every == 0:
            self.flush_losses()

    def _run_epoch(self) -> bool:
        """Train until the data of this epoch is used up (True) or a stop (False)."""
        k = self.grad_accum
        n = self.batches_per_epoch
        micro = 0
        examples = 0
        step_loss: torch.Tensor | None = None
        self._resumed_at_end = self.batch_in_epoch > 0
        iterator: Iterator[Any] = iter(self.loader)
        if self.batch_sampler is None and self.batch_in_epoch and not self._data_restored:
            for _ in range(self.batch_in_epoch):  # a loader that cannot seek: skip batches
                next(iterator, None)
        self._data_restored = False
        if self._rng_to_restore is not None:
            # Restored last, after the loader's iterator exists: creating one may draw from the
            # global RNG (a user DataLoader without a generator), as it did in the original run
            # before the checkpointed state.
            set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None
        for batch in iterator:
            if micro == 0:
                self.callbacks.call("on_batch_begin", self, self.step)
            self.batch_in_epoch += 1
            last = n is not None and self.batch_in_epoch >= n
            window_end = micro + 1 == k or last
            batch = _to_device(batch, self.device, self.device.type == "cuda")
            examples += _batch_size(batch)
            with self._gradient_sync(window_end or n is None):
                with self._autocast():
                    loss = self.loss_fn(self.train_model, batch)
                if step_loss is None:
                    self._check_loss(loss)
                scaled = loss / k
                if self.scaler is not None:
                    scaled = self.scaler.scale(scaled)
                scaled.backward()
            step_loss = loss.detach() if micro == 0 else step_loss + loss.detach()
            micro += 1
            if window_end:
                self._optimizer_step(step_loss, micro, examples)
                micro, examples = 0, 0
                if self._should_stop():
                    return last
                if (self.checkpoint_every is not None and self.step % self.checkpoint_every == 0
                        and not last):
                    self.save_checkpoint()
        if micro:  # an iterable dataset of unknown length ended inside a window
            self._optimizer_step(step_loss, micro, examples)
        if step_loss is None and n is None and not self._resumed_at_end:
            raise ValueError("the data gave no batch this epoch: is it empty?")
        return True

    def _gradient_sync(self, sync: bool) -> contextlib.AbstractContextManager[Any]:
        """Skip the gradient all-reduce / reduce-scatter of a micro-batch that does not end an
        accumulation window (the gradients add up locally until the window's last one)."""
        if not self._distributed:
            return contextlib.nullcontext()
        if self._fsdp:
            self.model.set_requires_gradient_sync(sync)  # type: ignore[operator]
            return contextlib.nullcontext()
        return contextlib.nullcontext() if sync else self.train_model.no_sync()

    def _should_stop(self) -> bool:
        return self.stop_training or (self.max_steps is not None and self.step >= self.max_steps)

    def _done(self) -> bool:
        return self._should_stop() or (self.epochs is not None and self.epoch >= self.epochs)

    def run(self) -> Trainer:
        """Train; returns ``self`` (``history``, callbacks' results)."""
        found = self._find_resume()
        if found is not None:
            path, state = found
            self.load_state_dict(state, str(path))
            self.last_checkpoint = path
        elif self.checkpoint_dir is not None and self.resume is not True and list_checkpoints(
                self.checkpoint_dir):
            raise CheckpointError(f"{self.checkpoint_dir} already holds checkpoints of another "
                                  f"run: pass resume=True to continue it, or use a new directory")
        if self.batches_per_epoch == 0:
            raise ValueError("the data gives no batch: is it empty (or smaller than one batch "
                             "with drop_last)?")
        self.train_model.train()
        self.callbacks.call("on_train_begin", self)
        while not self._done():
            self._set_position(self.epoch, self.batch_in_epoch)
            self.callbacks.call("on_epoch_begin", self, self.epoch)
            completed = self._run_epoch()
            self.flush_losses()
            if completed and self.batches_per_epoch is not None and \
                    self.batch_in_epoch < self.batches_per_epoch:
                raise RuntimeError(f"the data loader ended after {self.batch_in_epoch} of "
                                   f"{self.batches_per_epoch} batches")
            logs: dict[str, Any] = {}
            self.callbacks.call("on_epoch_end", self, self.epoch, logs)
            if completed:
                self.epoch += 1
                self.batch_in_epoch = 0
            self.save_checkpoint()
        self.flush_losses()
        self.callbacks.call("on_train_end", self)
        return self


def fit(model: nn.Module, loss_fn: Callable[[nn.Module, Any], torch.Tensor], data: Any,
        **kwargs: Any) -> Trainer:
    """Train ``model`` on ``data`` by minimising ``loss_fn(model, batch)``; returns the
    :class:`Trainer` (its ``history`` holds the losses and metrics).

    Args:
        model: any ``nn.Module`` (moved to ``device`` by you; fit uses its device).
        loss_fn: ``(model, batch) -> scalar tensor``, the mean loss of the batch. Under
            torchrun ``model`` is the ``DistributedDataParallel`` wrapper (call it, don't reach
            into it); under FSDP the sharded module itself; with ``compile`` the compiled
            module.
        data: a map-style dataset (``len`` + indexing: a list, a ``torch`` ``Dataset``, an HF
            ``datasets.Dataset``), whose batches fit builds (shuffled or length-bucketed, and
            distributed under torchrun), so a resume restores the exact next batch; an
            ``IterableDataset`` (exact resume when it has ``state_dict``/``load_state_dict``
            reporting its position); or your own ``DataLoader`` (exact resume when its sampler
            has ``state_dict``/``load_state_dict`` or its order depends only on the epoch).
        optimizer: a ``torch.optim.Optimizer`` (kexue's ``extend_with_*`` wrappers included),
            or a function ``model -> optimizer`` that fit calls after wrapping the model (the
            only form ``strategy="fsdp"`` takes: sharding replaces the parameters). With
            ``extend_with_exponential_moving_average`` the evaluations, the best-weight
            choice and the saved inference weights use the EMA weights.
        collate_fn: builds a batch from a list of examples (e.g.
            :class:`kexue.data.PadCollate`).
        batch_size: examples per batch per process (per micro-batch with ``grad_accum``).
        epochs, steps: stop after this many epochs and/or optimizer steps.
        scheduler: a ``torch.optim.lr_scheduler`` stepped after every optimizer step, or a
            function ``optimizer -> scheduler`` (needed when ``optimizer`` is a function).
        grad_accum: micro-batches per optimizer step (their mean gradient is used; the last
            window of an epoch may be shorter and is averaged over what it has).
        clip_grad_norm: clip the global gradient 2-norm to this (``grad_norm`` is logged).
        precision: ``"fp32"``, ``"bf16"`` (autocast; on CPU too) or ``"fp16"`` (CUDA, with a
            gradient scaler).
        callbacks: :class:`kexue.train.Callback` objects, run in order.
        checkpoint_dir: where resumable checkpoints (``ckpt-*.kexue``) and ``log.csv`` go;
            a checkpoint is written at every epoch end and every ``checkpoint_every`` steps,
            keeping the newest ``keep_checkpoints``.
        resume: ``True`` continues from the newest usable checkpoint in ``checkpoint_dir``
            (a fresh start if there is none, so the same command starts and resumes); a
            directory or file continues from there.
        compile: ``True`` or a dict of ``torch.compile`` options for the training forward.
        seed: seed of the data order (the model's own randomness, e.g. dropout, follows
            torch's global RNG: seed it yourself; it is saved and restored on resume).
        shuffle, drop_last: data order options of the built sampler.
        lengths, bucket_window: example lengths for length-bucketed batches
            (:class:`kexue.data.LengthBucketSampler`).
        num_workers: ``DataLoader`` worker processes.
        device: where batches go (default: the model's device).
        log_every: sync the losses into ``history`` (and check them for NaN) every N steps.
        progress: show a tqdm progress bar.
        strategy: how torchrun's processes share the work: ``"ddp"`` (every rank holds the
            whole model; ``DistributedDataParallel``) or ``"fsdp"`` (parameters, gradients and
            optimizer states sharded over the ranks with FSDP2 ``fully_shard``; see
            :mod:`kexue.train.fsdp`). Either way checkpoints hold full tensors in one
            format, so a run resumes under the other strategy. One process: no wrapping.
        ddp_kwargs: extra ``DistributedDataParallel`` options under torchrun.
        fsdp_kwargs: extra ``fully_shard`` options (``mp_policy``,
            ``reshard_after_forward``, ``offload_policy``...).
        fsdp_units: ``module -> bool``, the submodules sharded as units of their own (default:
            each module in an ``nn.ModuleList``, i.e. the transformer layers); the root
            holds the rest.

    Raises :class:`NonFiniteLossError` (with the step) when the loss becomes NaN/inf (no
    checkpoint is written after that step); :class:`kexue.train.CheckpointError` for a
    resume directory from another model (naming the mismatched keys) or with no usable
    checkpoint.
    """
    return Trainer(model, loss_fn, data, **kwargs).run()
