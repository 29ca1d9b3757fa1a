"""Resumable training checkpoints that survive faults.

One checkpoint file holds everything a run needs to continue exactly: model weights (the raw
training weights, not the EMA), optimizer state (with extension state such as the EMA
averages), LR scheduler, gradient scaler, the python / NumPy / torch RNG states of every
rank, the data position (epoch and batches consumed), the step counter, the logged history
and the callbacks' state.

File layout (``ckpt-000001234.kexue`` in the checkpoint directory)::

    b"KEXUE-CKPT\\x00v1\\n" | torch.save payload | 8-byte little-endian payload length
                           | SHA-256 of the payload (32 bytes) | b"\\nKEXUE-END"

It is written through :func:`kexue.io.atomic.atomic_write` (exclusive temp file, fsync,
rename), so a kill at any moment leaves the previous checkpoint whole; the length and digest
make a file cut at any byte (or damaged) fail with :class:`CheckpointError` instead of
loading garbage. The payload holds only tensors, numbers, strings and containers and is read
with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import struct
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kexue.io.atomic import atomic_write, remove_stale_temps

__all__ = [
    "CheckpointError",
    "checkpoint_path",
    "get_rng_state",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "check_model_keys",
    "prune_checkpoints",
    "save_checkpoint",
    "set_rng_state",
]

MAGIC = b"KEXUE-CKPT\x00v1\n"
END = b"\nKEXUE-END"
_FOOTER = struct.Struct("<Q32s")
_NAME = re.compile(r"^ckpt-(\d{9})\.kexue$")


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used (truncated, damaged, or from another model)."""


def checkpoint_path(directory: str | os.PathLike, step: int) -> Path:
    return Path(directory) / f"ckpt-{step:09d}.kexue"


class _HashingWriter(io.RawIOBase):
    """Forwards writes to ``f`` while hashing and counting them (no second copy in memory)."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.sha = hashlib.sha256()
        self.n = 0
        self.error: OSError | None = None

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        view = memoryview(b)
        try:
            self.f.write(view)
        except OSError as e:  # torch.save hides it behind a RuntimeError: keep it
            self.error = e
            raise
        self.sha.update(view)
        self.n += view.nbytes
        return view.nbytes


def save_checkpoint(path: str | os.PathLike, state: Mapping[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically in the checksummed format above."""
    remove_stale_temps(path)
    with atomic_write(path, "wb") as f:
        f.write(MAGIC)
        w = _HashingWriter(f)
        try:
            torch.save(dict(state), w)
        except Exception:
            if w.error is not None:  # the real cause (a full disk), named by atomic_write
                raise w.error from None
            raise
        f.write(_FOOTER.pack(w.n, w.sha.digest()))
        f.write(END)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and verify a checkpoint; :class:`CheckpointError` says why one is refused."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror or e}") from e
    head, tail = len(MAGIC), _FOOTER.size + len(END)
    if not data.startswith(MAGIC):
        raise CheckpointError(f"{path} is not a kexue checkpoint (bad header; {len(data)} "
                              f"bytes)")
    if len(data) < head + tail or not data.endswith(END):
        raise CheckpointError(f"checkpoint {path} is truncated or damaged ({len(data)} bytes, "
                              f"no end marker): it was not written completely")
    n, digest = _FOOTER.unpack(data[-tail:-len(END)])
    payload = memoryview(data)[head:len(data) - tail]
    if len(payload) != n:
        raise CheckpointError(f"checkpoint {path} is truncated or damaged: payload is "
                              f"{len(payload)} bytes, the footer says {n}")
    if hashlib.sha256(payload).digest() != digest:
        raise CheckpointError(f"checkpoint {path} is damaged: SHA-256 mismatch")
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad checkpoint
        raise CheckpointError(f"checkpoint {path} cannot be loaded: {e}") from e
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise CheckpointError(f"{path} holds no training state (no 'model'/'step')")
    return state


def list_checkpoints(directory: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, path)`` of every checkpoint file in ``directory``, oldest first."""
    d = Path(directory)
    if not d.is_dir():
        return []
    found = []
    for p in d.iterdir():
        m = _NAME.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def latest_checkpoint(directory: str | os.PathLike) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint in ``directory`` that loads, with its state.

    A newer file that is refused (truncated, damaged) is reported with a warning naming the
    file and the reason, and the previous one is used. ``None`` when the directory holds no
    checkpoint; :class:`CheckpointError` listing every reason when none of them loads."""
    reasons = []
    for _step, path in reversed(list_checkpoints(directory)):
        try:
            state = load_checkpoint(path)
        except CheckpointError as e:
            warnings.warn(f"{e}; trying the previous checkpoint", RuntimeWarning, stacklevel=2)
            reasons.append(str(e))
            continue
        return path, state
    if reasons:
        raise CheckpointError("no usable checkpoint in " f"{directory}: " + "; ".join(reasons))
    return None


def prune_checkpoints(directory: str | os.PathLike, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints."""
    for _step, path in list_checkpoints(directory)[:-keep] if keep > 0 else []:
        path.unlink(missing_ok=True)


def check_model_keys(model_state: Mapping[str, torch.Tensor],
                     saved: Mapping[str, torch.Tensor], source: str) -> None:
    """Raise :class:`CheckpointError` naming every missing, unexpected or reshaped key."""
    missing = sorted(set(model_state) - set(saved))
    unexpected = sorted(set(saved) - set(model_state))
    shapes = sorted(k for k in set(model_state) & set(saved)
                    if tuple(model_state[k].shape) != tuple(saved[k].shape))
    if not (missing or unexpected or shapes):
        return

    def show(keys: list[str]) -> str:
        return ", ".join(keys[:8]) + (f" (+{len(keys) - 8} more)" if len(keys) > 8 else "")

    parts = []
    if missing:
        parts.append(f"missing in the checkpoint: {show(missing)}")
    if unexpected:
        parts.append(f"not in this model: {show(unexpected)}")
    if shapes:
        parts.append("shape differs: " + show([
            f"{k} {tuple(saved[k].shape)} vs {tuple(model_state[k].shape)}" for k in shapes]))
    raise CheckpointError(f"the checkpoint {source} is from another model: " + "; ".join(parts))


# ---- RNG states --------------------------------------------------------------------------
def get_rng_state() -> dict[str, Any]:
    """python, NumPy and torch (CPU and CUDA) RNG states as tensors / ints (weights_only safe)."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state()
    out: dict[str, Any] = {
        "python": [version, torch.tensor(internal, dtype=torch.int64), gauss],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)),
                  int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: Mapping[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(int(x) for x in internal.tolist()), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
