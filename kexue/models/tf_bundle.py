"""TensorFlow checkpoints (the tensor-bundle format) read in pure Python + NumPy.

A checkpoint ``PREFIX`` is ``PREFIX.index`` plus the shards ``PREFIX.data-00000-of-0000N``.
The index is a LevelDB-style sorted table (SSTable): a 48-byte footer at the end locates the
index block, whose entries locate the data blocks; each block is a run of prefix-compressed
``key -> value`` entries followed by a restart array, and carries a 5-byte trailer (compression
type, masked CRC-32C). The empty key holds the ``BundleHeaderProto`` (number of shards,
endianness); every other key is a variable name whose value is a ``BundleEntryProto``: dtype,
shape, shard, byte offset, byte size and the masked CRC-32C of the tensor's bytes. Tensors are
raw C-order arrays in the shard files.

Nothing is read until asked: :func:`list_variables` parses only the index, and
:func:`load_variable` reads one tensor's bytes and checks its checksum (a mismatch names the
variable). TensorFlow is never imported.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from kexue.models.crc32c import masked_crc32c
from kexue.models.sources import TensorSource, check_path

__all__ = [
    "TFCheckpoint",
    "TensorEntry",
    "find_prefix",
    "list_variables",
    "load_variable",
    "DTYPES",
]

_MAGIC = 0xDB4775248B80FB57

# TF DataType enum -> (name, numpy dtype or None, torch dtype or None, item size)
DTYPES: dict[int, tuple[str, object, torch.dtype | None, int]] = {
    1: ("float32", np.float32, torch.float32, 4),
    2: ("float64", np.float64, torch.float64, 8),
    3: ("int32", np.int32, torch.int32, 4),
    4: ("uint8", np.uint8, torch.uint8, 1),
    5: ("int16", np.int16, torch.int16, 2),
    6: ("int8", np.int8, torch.int8, 1),
    7: ("string", None, None, 0),
    8: ("complex64", np.complex64, torch.complex64, 8),
    9: ("int64", np.int64, torch.int64, 8),
    10: ("bool", np.bool_, torch.bool, 1),
    14: ("bfloat16", None, torch.bfloat16, 2),
    17: ("uint16", np.uint16, torch.uint16, 2),
    18: ("complex128", np.complex128, torch.complex128, 16),
    19: ("float16", np.float16, torch.float16, 2),
    22: ("uint32", np.uint32, torch.uint32, 4),
    23: ("uint64", np.uint64, torch.uint64, 8),
}


@dataclass(frozen=True)
class TensorEntry:
    """One variable of the bundle (a ``BundleEntryProto``)."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int | None
    sliced: bool = False

    @property
    def dtype_name(self) -> str:
        return DTYPES.get(self.dtype, (f"dtype#{self.dtype}",))[0]


class TFFormatError(ValueError):
    """The index or a shard is not a valid TensorFlow tensor bundle."""


# ----------------------------------------------------------------------------- protobuf


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise TFFormatError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise TFFormatError("varint too long")


def _fields(buf: bytes):
    """``(field number, wire type, value)`` of a protobuf message (value: int or bytes)."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value = buf[pos : pos + n]
            if len(value) != n:
                raise TFFormatError("truncated length-delimited field")
            pos += n
        elif wire == 5:
            value = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        else:
            raise TFFormatError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _entry(name: str, value: bytes) -> TensorEntry:
    dtype = shard = offset = size = 0
    crc = None
    shape: list[int] = []
    sliced = False
    for number, _wire, v in _fields(value):
        if number == 1:
            dtype = v
        elif number == 2:
            for n2, _w2, dim in _fields(v):
                if n2 == 2:
                    for n3, _w3, d in _fields(dim):
                        if n3 == 1:
                            shape.append(_signed64(d))
                elif n2 == 3 and v:
                    raise TFFormatError(f"{name}: unknown rank")
        elif number == 3:
            shard = v
        elif number == 4:
            offset = v
        elif number == 5:
            size = v
        elif number == 6:
            crc = v
        elif number == 7:
            sliced = True
    if any(d < 0 for d in shape):
        raise TFFormatError(f"{name}: negative dimension in shape {shape}")
    return TensorEntry(name, dtype, tuple(shape), shard, offset, size, crc, sliced)


# ----------------------------------------------------------------------------- SSTable


def _block(data: bytes, offset: int, size: int, what: str) -> bytes:
    if offset + size + 5 > len(data):
        raise TFFormatError(f"{what} block at {offset} (+{size}) runs past the end of the index")
    block = data[offset : offset + size]
    kind = data[offset + size]
    if kind != 0:
        raise TFFormatError(
            f"{what} block is compressed (type {kind}); kexue reads uncompressed indexes only"
        )
    stored = struct.unpack_from("<I", data, offset + size + 1)[0]
    if masked_crc32c(data[offset : offset + size + 1]) != stored:
        raise TFFormatError(f"{what} block at offset {offset}: checksum mismatch (corrupt index)")
    return block


def _block_entries(block: bytes):
    if len(block) < 4:
        raise TFFormatError("block too short")
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * restarts
    if end < 0:
        raise TFFormatError("bad restart count")
    pos = 0
    key = b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + vlen > end:
            raise TFFormatError("corrupt block entry")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + vlen]
        pos += vlen


def _read_index(path: Path) -> tuple[dict[str, int], dict[str, TensorEntry]]:
    data = path.read_bytes()
    if len(data) < 48:
        raise TFFormatError(f"{path} is too short to be a TensorFlow checkpoint index")
    if struct.unpack_from("<Q", data, len(data) - 8)[0] != _MAGIC:
        raise TFFormatError(f"{path} is not a TensorFlow checkpoint index (bad magic number)")
    footer = data[-48:]
    _meta_off, pos = _varint(footer, 0)
    _meta_size, pos = _varint(footer, pos)
    index_off, pos = _varint(footer, pos)
    index_size, pos = _varint(footer, pos)
    header: dict[str, int] = {"num_shards": 1, "endianness": 0}
    entries: dict[str, TensorEntry] = {}
    index = _block(data, index_off, index_size, "index")
    for _last_key, handle in _block_entries(index):
        off, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        for key, value in _block_entries(_block(data, off, size, "data")):
            name = key.decode("utf-8", errors="replace")
            if name == "":
                for number, _w, v in _fields(value):
                    if number == 1:
                        header["num_shards"] = v
                    elif number == 2:
                        header["endianness"] = v
            else:
                entries[name] = _entry(name, value)
    return header, entries


# ----------------------------------------------------------------------------- checkpoint


def find_prefix(path: str | Path) -> Path | None:
    """The checkpoint prefix ``path`` names (``PREFIX``, ``PREFIX.index``, or a directory with
    one ``*.index`` or a ``checkpoint`` state file), or ``None`` when it is not a TF one."""
    p = Path(path)
    if p.name.endswith(".index") and p.is_file():
        return p.with_name(p.name[: -len(".index")])
    if Path(f"{p}.index").is_file():
        return p
    if p.is_dir():
        state = p / "checkpoint"
        if state.is_file():
            for line in state.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("model_checkpoint_path:"):
                    name = line.split(":", 1)[1].strip().strip('"')
                    cand = Path(name) if os.path.isabs(name) else p / name
                    if Path(f"{cand}.index").is_file():
                        return cand
        indexes = sorted(p.glob("*.index"))
        if len(indexes) == 1:
            return indexes[0].with_name(indexes[0].name[: -len(".index")])
        if len(indexes) > 1:
            raise ValueError(
                f"{p} holds several TensorFlow checkpoints ({[i.name for i in indexes]}): "
                "pass the prefix of one, e.g. "
                f"{indexes[-1].with_name(indexes[-1].name[: -len('.index')])}"
            )
    return None


class TFCheckpoint(TensorSource):
    """A TensorFlow checkpoint opened lazily (the index only).

    ``keys()`` lists the variable names, ``shape(name)``/``entry(name)`` describe one, and
    ``get(name)`` reads one tensor (as torch; bfloat16 kept), verifying its checksum unless
    ``verify=False``.
    """

    def __init__(self, prefix: str | Path, *, verify: bool = True) -> None:
        found = find_prefix(check_path(prefix) if Path(prefix).exists() else prefix)
        if found is None:
            raise ValueError(
                f"{prefix} is not a TensorFlow checkpoint: no {prefix}.index (give the prefix, "
                "e.g. .../bert_model.ckpt)"
            )
        self.prefix = found
        self.path = str(found)
        self.verify = verify
        self.header, self.entries = _read_index(Path(f"{found}.index"))
        if self.header.get("endianness", 0) != 0:
            raise TFFormatError(f"{found}: big-endian checkpoints are not supported")

    def shard_path(self, shard: int) -> Path:
        n = self.header["num_shards"]
        return Path(f"{self.prefix}.data-{shard:05d}-of-{n:05d}")

    def keys(self) -> list[str]:
        return list(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def entry(self, name: str) -> TensorEntry:
        if name not in self.entries:
            raise KeyError(f"{self.prefix} has no variable {name!r}")
        return self.entries[name]

    def shape(self, name: str) -> tuple[int, ...]:
        return self.entry(name).shape

    def read_bytes(self, name: str) -> bytearray:
        e = self.entry(name)
        if e.sliced:
            raise TFFormatError(f"{name} is a partitioned variable, which kexue does not read")
        shard = self.shard_path(e.shard)
        if not shard.is_file():
            raise ValueError(
                f"{self.prefix}: shard {shard.name} holding {name} is missing "
                f"({self.header['num_shards']} shard(s) expected)"
            )
        buf = bytearray(e.size)
        with open(shard, "rb") as f:
            f.seek(e.offset)
            got = f.readinto(buf)
        if got != e.size:
            raise ValueError(
                f"{shard}: truncated: {name} needs bytes {e.offset}..{e.offset + e.size}, "
                f"the file ends at {os.path.getsize(shard)}"
            )
        if self.verify and e.crc32c is not None and masked_crc32c(buf) != e.crc32c:
            raise ValueError(
                f"{shard}: checksum mismatch in variable {name}: the shard is corrupt"
            )
        return buf

    def get(self, name: str) -> torch.Tensor:
        e = self.entry(name)
        kind = DTYPES.get(e.dtype)
        if kind is None or kind[2] is None:
            raise TFFormatError(f"{name}: dtype {e.dtype_name} cannot be read as a tensor")
        _, _, tdtype, item = kind
        count = 1
        for d in e.shape:
            count *= d
        if count * item != e.size:
            raise TFFormatError(
                f"{name}: {e.size} bytes do not hold a {e.dtype_name} tensor of shape "
                f"{list(e.shape)}"
            )
        buf = self.read_bytes(name)
        if not count:
            return torch.empty(e.shape, dtype=tdtype)
        return torch.frombuffer(buf, dtype=tdtype).reshape(e.shape)


def list_variables(path: str | Path) -> list[tuple[str, list[int]]]:
    """``[(name, shape), ...]`` sorted by name, like ``tf.train.list_variables``; reads only
    the index."""
    ckpt = TFCheckpoint(path)
    return [(name, list(e.shape)) for name, e in sorted(ckpt.entries.items())]


def load_variable(path: str | Path, name: str) -> np.ndarray:
    """One variable as a NumPy array, like ``tf.train.load_variable`` (bfloat16 is returned
    as float32, which holds it exactly); the checksum is verified."""
    t = TFCheckpoint(path).get(name)
    if t.dtype == torch.bfloat16:
        t = t.float()
    return t.numpy()
