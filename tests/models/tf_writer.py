"""A small writer of TensorFlow tensor bundles, for tests and benchmarks only.

It writes what TensorFlow's ``BundleWriter`` writes (an SSTable ``.index`` with the header
proto under the empty key and one ``BundleEntryProto`` per variable, tensors packed into
``.data-NNNNN-of-MMMMM`` shards, masked CRC-32C checksums), so the reader can be tested on
dtypes, shard counts and damage that the real fixtures do not cover. Tensors are produced one
at a time (``fill(name)``), so a ~1 GB bundle is written without holding it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kexue.models.crc32c import masked_crc32c

DTYPE_ENUM = {
    "float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6,
    "complex64": 8, "int64": 9, "bool": 10, "bfloat16": 14, "float16": 19,
}
_MAGIC = 0xDB4775248B80FB57


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes | int) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == 0:
        return key + _varint(payload)
    if wire == 5:
        return key + struct.pack("<I", payload)
    return key + _varint(len(payload)) + payload


def _entry(dtype: int, shape, shard: int, offset: int, size: int, crc: int) -> bytes:
    dims = b"".join(_field(2, 2, _field(1, 0, d)) for d in shape)
    msg = _field(1, 0, dtype) + _field(2, 2, dims)
    if shard:
        msg += _field(3, 0, shard)
    if offset:
        msg += _field(4, 0, offset)
    return msg + _field(5, 0, size) + _field(6, 5, crc)


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    body = bytearray()
    restarts = []
    for key, value in entries:
        restarts.append(len(body))
        body += _varint(0) + _varint(len(key)) + _varint(len(value)) + key + value
    if not restarts:
        restarts = [0]
    body += b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))
    return bytes(body)


def _with_trailer(block: bytes) -> bytes:
    return block + b"\x00" + struct.pack("<I", masked_crc32c(block + b"\x00"))


def as_bytes(value) -> tuple[str, tuple[int, ...], bytes]:
    """``(dtype name, shape, raw bytes)`` of a NumPy array or a torch tensor (bfloat16 too)."""
    if hasattr(value, "detach"):  # torch
        import torch

        t = value.detach().contiguous()
        name = str(t.dtype).replace("torch.", "")
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        return name, tuple(t.shape), raw
    a = np.asarray(value)
    a = a if a.flags.c_contiguous else a.copy()
    return str(a.dtype), a.shape, a.tobytes()


def write_bundle(
    prefix: str | Path,
    names: list[str],
    fill: Callable[[str], object],
    *,
    num_shards: int = 1,
) -> None:
    """Write ``PREFIX.index`` + shards; variable ``names[i]`` gets ``fill(name)`` (an array or
    a tensor) and goes to shard ``i * num_shards // len(names)``."""
    prefix = Path(prefix)
    order = sorted(names)
    entries: dict[str, bytes] = {}
    files = [
        open(f"{prefix}.data-{s:05d}-of-{num_shards:05d}", "wb") for s in range(num_shards)
    ]
    try:
        offsets = [0] * num_shards
        for i, name in enumerate(order):
            shard = i * num_shards // max(len(order), 1)
            dtype, shape, raw = as_bytes(fill(name))
            files[shard].write(raw)
            entries[name] = _entry(
                DTYPE_ENUM[dtype], shape, shard, offsets[shard], len(raw), masked_crc32c(raw)
            )
            offsets[shard] += len(raw)
    finally:
        for f in files:
            f.close()
    header = _field(1, 0, num_shards) + _field(3, 2, _field(1, 0, 1))
    data = _block([(b"", header)] + [(k.encode(), entries[k]) for k in order])
    out = bytearray(_with_trailer(data))
    last = (order[-1] if order else "").encode() + b"\xff"
    meta_off = len(out)
    meta = _block([])
    out += _with_trailer(meta)
    index_off = len(out)
    index = _block([(last, _varint(0) + _varint(len(data)))])
    out += _with_trailer(index)
    footer = _varint(meta_off) + _varint(len(meta)) + _varint(index_off) + _varint(len(index))
    footer += b"\x00" * (40 - len(footer)) + struct.pack("<Q", _MAGIC)
    out += footer
    Path(f"{prefix}.index").write_bytes(bytes(out))


def write_tensors(prefix: str | Path, tensors: dict[str, object], *, num_shards: int = 1) -> None:
    """``write_bundle`` for tensors already in memory."""
    write_bundle(prefix, list(tensors), tensors.__getitem__, num_shards=num_shards)
