"""Lazy tensor sources: a checkpoint seen as ``name -> (shape, tensor on demand)``.

Loading looks at names and shapes first (cheap: a safetensors header, a TF ``.index``) and
reads a tensor only when it is copied into the model, so a config that does not match its
checkpoint fails before anything large is read or allocated, and ``kexue convert`` streams.

* :class:`DictSource` — tensors already in memory;
* :class:`SafetensorsSource` — ``model.safetensors`` (memory-mapped, one tensor at a time);
* :class:`TorchSource` — ``pytorch_model.bin`` read with ``weights_only=True``;
* ``kexue.models.tf_bundle.TFCheckpoint`` — a TensorFlow tensor bundle.

:func:`open_checkpoint` picks the right one for a path.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from pathlib import Path

import torch

__all__ = [
    "TensorSource",
    "DictSource",
    "SafetensorsSource",
    "TorchSource",
    "WEIGHT_FILES",
    "check_path",
    "find_weights",
    "open_checkpoint",
]

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class TensorSource:
    """``keys()``, ``shape(name)``, ``get(name)``; ``path`` names the source in messages."""

    path: str = "<memory>"

    def keys(self) -> list[str]:
        raise NotImplementedError

    def shape(self, name: str) -> tuple[int, ...]:
        raise NotImplementedError

    def get(self, name: str) -> torch.Tensor:
        raise NotImplementedError

    def __contains__(self, name: object) -> bool:
        return name in set(self.keys())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def numel(self, name: str) -> int:
        n = 1
        for d in self.shape(name):
            n *= d
        return n


class DictSource(TensorSource):
    """A ``name -> tensor`` dict."""

    def __init__(self, tensors: dict[str, torch.Tensor], path: str = "<memory>") -> None:
        self.tensors = tensors
        self.path = path

    def keys(self) -> list[str]:
        return list(self.tensors)

    def __contains__(self, name: object) -> bool:
        return name in self.tensors

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.tensors[name].shape)

    def get(self, name: str) -> torch.Tensor:
        return self.tensors[name]


def _corrupt(path: Path, exc: BaseException) -> ValueError:
    return ValueError(f"cannot read weights file {path}: it is corrupt or truncated ({exc})")


class SafetensorsSource(TensorSource):
    """A ``.safetensors`` file; the header is read once, tensors on demand."""

    def __init__(self, path: str | Path) -> None:
        from safetensors import SafetensorError, safe_open

        self.path = str(path)
        self._errors = (SafetensorError, OSError, ValueError, RuntimeError)
        try:
            self._file = safe_open(self.path, framework="pt")
            self._keys = list(self._file.keys())
            self._shapes = {k: tuple(self._file.get_slice(k).get_shape()) for k in self._keys}
        except self._errors as exc:
            raise _corrupt(Path(path), exc) from exc
        self._set = set(self._keys)

    def keys(self) -> list[str]:
        return list(self._keys)

    def __contains__(self, name: object) -> bool:
        return name in self._set

    def shape(self, name: str) -> tuple[int, ...]:
        return self._shapes[name]

    def get(self, name: str) -> torch.Tensor:
        try:
            return self._file.get_tensor(name)
        except self._errors as exc:
            raise _corrupt(Path(self.path), exc) from exc


class TorchSource(DictSource):
    """A PyTorch pickle (``pytorch_model.bin``), loaded with ``weights_only=True``.

    A pickle that holds anything but tensors and plain containers is refused as *blocked*
    (it could run code when unpickled); kexue never retries it unsafely.
    """

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        try:
            tensors = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except Exception as exc:  # torch raises many types for damaged or hostile pickles
            text = str(exc)
            if "Weights only load failed" in text or "Unsupported global" in text:
                found = re.search(r"GLOBAL ([\w.]+)", text)
                detail = f"it references {found.group(1)}" if found else ""
                raise ValueError(
                    f"refused to load {path}: the pickle holds objects other than tensors "
                    f"and was blocked for safety ({detail or 'unsupported global'}); kexue loads "
                    "only plain tensor checkpoints: convert trusted files to safetensors"
                ) from None
            if isinstance(exc, RuntimeError) and "mmap" in text:
                try:
                    tensors = torch.load(str(path), map_location="cpu", weights_only=True)
                except Exception as exc2:
                    raise _corrupt(path, exc2) from exc2
            else:
                raise _corrupt(path, exc) from exc
        if isinstance(tensors, dict) and "state_dict" in tensors and len(tensors) <= 3:
            tensors = tensors["state_dict"]
        if not isinstance(tensors, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in tensors.items()
        ):
            raise ValueError(f"weights file {path} does not hold a flat name -> tensor dict")
        super().__init__(dict(tensors), str(path))


def check_path(path: str | Path, what: str = "checkpoint") -> Path:
    """``path`` as a ``Path`` after ruling out a missing path and a symbolic-link loop, each
    with its own message."""
    path = Path(path)
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"{what} path {path} is a symbolic link loop") from None
        if os.path.islink(path):
            raise ValueError(
                f"{what} path {path} is a broken symbolic link (to {os.readlink(path)})"
            ) from None
        if exc.errno == errno.ENOENT:
            raise ValueError(f"{what} not found: {path} does not exist") from None
        raise ValueError(f"cannot open {what} {path}: {exc.strerror}") from None
    return path


def find_weights(checkpoint_path: str | Path) -> Path:
    """The weights file of an HF-format directory, or the path itself when it is a file."""
    path = check_path(checkpoint_path)
    if path.is_dir():
        for name in WEIGHT_FILES:
            if (path / name).is_file():
                return path / name
        if any(path.glob("*.index.json")):
            raise ValueError(f"{path}: sharded checkpoints (*.index.json) are not supported yet")
        raise ValueError(
            f"{path}: no weights file; expected one of {list(WEIGHT_FILES)} or a TensorFlow "
            "checkpoint (NAME.index + NAME.data-*)"
        )
    if not path.is_file():
        raise ValueError(f"checkpoint {path} is neither a file nor a directory")
    return path


def open_checkpoint(path: str | Path) -> TensorSource:
    """The lazy :class:`TensorSource` of an HF directory, a weights file or a TF checkpoint
    (a prefix ``.../bert_model.ckpt``, its ``.index`` file, or a directory holding one)."""
    from kexue.models import tf_bundle

    tf = tf_bundle.find_prefix(path)
    if tf is not None:
        return tf_bundle.TFCheckpoint(tf)
    weights = find_weights(path)
    if weights.suffix == ".safetensors":
        return SafetensorsSource(weights)
    return TorchSource(weights)
