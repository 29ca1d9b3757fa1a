"""The compiled core (kexue/data/shuffle/_core.c) against a plain Python reference."""

from __future__ import annotations

import numpy as np
import pytest

from kexue.data.shuffle import _core
from kexue.data.shuffle.lines import LineIndex, gather, line_sizes


def random_bytes(rng: np.random.Generator, n: int) -> bytes:
    """Bytes rich in separators and look-alikes: \\n, \\r\\n, \\0, empty lines, high bytes."""
    alphabet = np.frombuffer(b"\n\r\0ab\xff\xe4", dtype=np.uint8)
    return alphabet[rng.integers(0, len(alphabet), n)].tobytes()


def ref_ends(data: bytes, sep: int) -> list[int]:
    return [i + 1 for i, c in enumerate(data) if c == sep]


@pytest.mark.parametrize("sep", [ord("\n"), 0])
@pytest.mark.parametrize("seed", range(20))
def test_find_matches_reference(sep, seed):
    rng = np.random.default_rng(seed)
    data = random_bytes(rng, int(rng.integers(0, 3000)))
    want = ref_ends(data, sep)
    out = np.empty(len(data) + 1, dtype=np.int64)
    n = _core.find(data, sep, out)
    assert n == len(want) and out[:n].tolist() == want
    # a short out array: the count is still exact, only what fits is stored
    small = np.full(3, -7, dtype=np.int64)
    assert _core.find(data, sep, small) == len(want)
    assert small[: min(3, len(want))].tolist() == want[:3]
    # the growing index gives the same (memoryview of a slice, no final separator)
    assert LineIndex().ends(memoryview(data)[: len(data)], sep).tolist() == want


def test_find_edge_cases():
    out = np.empty(4, dtype=np.int64)
    assert _core.find(b"", 10, out) == 0
    assert _core.find(b"no separator", 10, out) == 0
    assert _core.find(b"\n\n\n", 10, out) == 3 and out[:3].tolist() == [1, 2, 3]
    assert _core.find(bytearray(b"a\r\nb"), 10, out) == 1 and out[0] == 3  # \r stays in line


@pytest.mark.parametrize("seed", range(20))
def test_gather_matches_reference(seed):
    rng = np.random.default_rng(seed)
    data = random_bytes(rng, int(rng.integers(1, 3000))) + b"\n"  # whole lines
    ends = np.array(ref_ends(data, 10), dtype=np.int64)
    lines = [data[(ends[i - 1] if i else 0) : ends[i]] for i in range(len(ends))]
    order = rng.permutation(len(ends)).astype(np.int64)
    if len(order) > 3:
        order[1] = order[0]  # repeats are allowed: gather only reads
    want = b"".join(lines[o] for o in order)
    dst = bytearray(len(want) + 10)
    copied, nbytes = _core.gather(data, ends, order, dst)
    assert (copied, nbytes) == (len(order), len(want)) and bytes(dst[:nbytes]) == want
    assert line_sizes(ends, order).tolist() == [len(lines[o]) for o in order]
    # a destination that is too small: stops before the first line that does not fit
    room = int(rng.integers(0, len(want) + 1))
    part = bytearray(room)
    copied, nbytes = gather(memoryview(data), ends, order, memoryview(part))
    fit = np.cumsum([len(lines[o]) for o in order])
    assert copied == int(np.searchsorted(fit, room, side="right"))
    assert bytes(part[:nbytes]) == b"".join(lines[o] for o in order[:copied])


def test_gather_of_nothing_and_of_empty_lines():
    data = b"\n\n\n"
    ends = np.array([1, 2, 3], dtype=np.int64)
    dst = bytearray(3)
    assert _core.gather(data, ends, np.array([], dtype=np.int64), dst) == (0, 0)
    assert _core.gather(data, ends, np.array([2, 0], dtype=np.int64), dst) == (2, 2)
    assert _core.gather(data, ends, np.array([0], dtype=np.int64), bytearray(0)) == (0, 0)


def test_wrong_types_and_shapes_give_clear_errors():
    data = b"ab\ncd\n"
    ends = np.array([3, 6], dtype=np.int64)
    dst = bytearray(10)
    with pytest.raises(TypeError, match="out must be .*int64"):
        _core.find(data, 10, np.empty(4, dtype=np.int32))
    frozen = np.zeros(4, dtype=np.int64)
    frozen.setflags(write=False)
    with pytest.raises(TypeError, match="writable"):
        _core.find(data, 10, frozen)
    with pytest.raises(TypeError, match="buf must be .*bytes-like"):
        _core.find("text", 10, np.empty(4, dtype=np.int64))
    with pytest.raises(ValueError, match="sep"):
        _core.find(data, 256, np.empty(4, dtype=np.int64))
    with pytest.raises(TypeError, match="contiguous"):
        _core.find(data, 10, np.empty(8, dtype=np.int64)[::2])
    with pytest.raises(TypeError, match="1-D int64"):
        _core.gather(data, np.array([[3, 6]], dtype=np.int64), np.array([0]), dst)
    with pytest.raises(TypeError, match="order must be"):
        _core.gather(data, ends, np.array([0, 1], dtype=np.float64), dst)
    with pytest.raises(TypeError, match="dst must be a writable"):
        _core.gather(data, ends, np.array([0]), b"read-only")
    with pytest.raises(IndexError, match="outside"):
        _core.gather(data, ends, np.array([2]), dst)
    with pytest.raises(IndexError, match="outside"):
        _core.gather(data, ends, np.array([-1]), dst)
    with pytest.raises(ValueError, match="do not describe lines"):
        _core.gather(data, np.array([3, 60], dtype=np.int64), np.array([1]), dst)
    with pytest.raises(ValueError, match="do not describe lines"):
        _core.gather(data, np.array([4, 2], dtype=np.int64), np.array([1]), dst)
