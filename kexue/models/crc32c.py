"""CRC-32C (Castagnoli) and TensorFlow's masked form, in NumPy (no compiled dependency).

TensorFlow stores, for each tensor of a checkpoint, ``mask(crc32c(bytes))`` with
``mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2**32)`` (LevelDB's masking, so a CRC
of data that itself holds CRCs stays useful).

Long inputs are split into many equal lanes whose CRCs advance together, one byte of every
lane per NumPy step, and the lane CRCs are then joined with the CRC combination rule
(``crc(A || B)`` from ``crc(A)``, ``crc(B)`` and ``len(B)``: multiply ``crc(A)`` by
``x^(8 len(B))`` modulo the polynomial, in GF(2)). When the optional ``google-crc32c`` or
``crc32c`` package is installed it is used instead (same values, faster).
"""

from __future__ import annotations

import numpy as np

__all__ = ["crc32c", "masked_crc32c", "unmask", "crc32c_combine"]

POLY = 0x82F63B78  # reflected Castagnoli polynomial
_MASK_DELTA = 0xA282EAD8


def _table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ POLY if c & 1 else c >> 1
        table[i] = c
    return table


_TABLE = _table()
_TABLE_LIST = [int(x) for x in _TABLE]


def _multmodp(a: int, b: int) -> int:
    """``a * b`` modulo the polynomial (reflected bit order)."""
    m = 1 << 31
    p = 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                break
        m >>= 1
        b = (b >> 1) ^ POLY if b & 1 else b >> 1
    return p


def _x2n_table() -> list[int]:
    table = [1 << 30]  # x^1
    for _ in range(31):
        table.append(_multmodp(table[-1], table[-1]))
    return table


_X2N = _x2n_table()


def _x8nmodp(n: int) -> int:
    """``x^(8 n)`` modulo the polynomial."""
    p = 1 << 31  # x^0
    k = 3
    while n:
        if n & 1:
            p = _multmodp(_X2N[k & 31], p)
        n >>= 1
        k += 1
    return p


def crc32c_combine(crc_a: int, crc_b: int, len_b: int) -> int:
    """``crc32c(A + B)`` from ``crc32c(A)``, ``crc32c(B)`` and ``len(B)``."""
    return _multmodp(_x8nmodp(len_b), crc_a) ^ crc_b


def _crc_small(data, crc: int = 0) -> int:
    c = crc ^ 0xFFFFFFFF
    t = _TABLE_LIST
    for byte in bytes(data):
        c = t[(c ^ byte) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


_LANES = 4096
_SEGMENT = 1 << 24  # bytes per vectorised segment (bounds the temporary copy)


def _crc_vectorised(buf: np.ndarray) -> int:
    """CRC of a uint8 array of at least ``_LANES`` bytes, lane-parallel."""
    n = buf.size
    lane = n // _LANES
    body = buf[: lane * _LANES].reshape(_LANES, lane).T.copy()  # (lane, LANES), rows contiguous
    c = np.full(_LANES, 0xFFFFFFFF, dtype=np.uint32)
    eight = np.uint32(8)
    for row in body:
        c = _TABLE[(c ^ row) & 0xFF] ^ (c >> eight)
    c ^= np.uint32(0xFFFFFFFF)
    op = _x8nmodp(lane)
    total = int(c[0])
    for value in c[1:].tolist():
        total = _multmodp(op, total) ^ value
    tail = buf[lane * _LANES :]
    if tail.size:
        total = crc32c_combine(total, _crc_small(tail.tobytes()), tail.size)
    return total


def _fast():
    try:
        import google_crc32c  # type: ignore[import-not-found]

        if google_crc32c.implementation == "c":
            extend = google_crc32c.extend

            def value(data) -> int:  # bytes-only API: feed bounded copies of a buffer
                if isinstance(data, bytes):
                    return extend(0, data)
                view = memoryview(data).cast("B")
                crc = 0
                for start in range(0, view.nbytes, _SEGMENT):
                    crc = extend(crc, bytes(view[start : start + _SEGMENT]))
                return crc

            return value
    except ImportError:
        pass
    try:
        import crc32c as _c  # type: ignore[import-not-found]

        return _c.crc32c
    except ImportError:
        return None


_FAST = _fast()


def crc32c(data: bytes | bytearray | memoryview | np.ndarray, *, pure: bool = False) -> int:
    """The CRC-32C of ``data`` (``pure=True`` forces the NumPy implementation)."""
    if _FAST is not None and not pure:
        return int(_FAST(data))
    buf = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    if buf.size < 4 * _LANES:
        return _crc_small(buf.tobytes())
    total = None
    for start in range(0, buf.size, _SEGMENT):
        part = buf[start : start + _SEGMENT]
        value = _crc_vectorised(part) if part.size >= 4 * _LANES else _crc_small(part.tobytes())
        total = value if total is None else crc32c_combine(total, value, part.size)
    return int(total)


def masked_crc32c(data, *, pure: bool = False) -> int:
    """TensorFlow's stored checksum: the masked CRC-32C of ``data``."""
    c = crc32c(data, pure=pure)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def unmask(masked: int) -> int:
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF
