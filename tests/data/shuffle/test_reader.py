"""BlockReader: blocks of whole lines from several inputs, whatever the read sizes."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from kexue.data.shuffle.reader import BlockReader, Extents, Source


class Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes per read (like a pipe)."""

    def __init__(self, data: bytes, step: int):
        self.data, self.pos, self.step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, view) -> int:
        n = min(self.step, len(view), len(self.data) - self.pos)
        view[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


def blocks_of(inputs: list[bytes], sep: bytes = b"\n", chunk: int = 16, step: int = 1 << 20,
              first: int | None = None) -> list[tuple[bytes, list[int]]]:
    sources = [Source(Trickle(x, step)) for x in inputs]
    r = BlockReader([s.open for s in sources], [s.name for s in sources], sep, chunk, first)
    try:
        got = [(bytes(b.data), b.ends.tolist()) for b in r]
    finally:
        r.close()
    return got


def normalised(inputs: list[bytes], sep: bytes = b"\n") -> bytes:
    return b"".join(x + sep if x and not x.endswith(sep) else x for x in inputs)


CASES = [
    [b"one\r\ntwo\r\n\r\nthree\r\n"],
    [b"\n\n\na\n\nb\n\n"],
    [b"a\nb\nc", b"d\ne", b"", b"f\n"],  # no final newline: a separator is added per input
    [b"x" * 100 + b"\nshort\n" + b"y" * 70],  # lines longer than the 16-byte buffer
    [b"\x00\xff\n\x80\n"],
    [b"", b""],
]


@pytest.mark.parametrize("inputs", CASES)
@pytest.mark.parametrize("step", [1, 3, 1 << 20])
def test_blocks_are_whole_lines_and_do_not_depend_on_read_sizes(inputs, step):
    got = blocks_of(inputs, step=step)
    assert got == blocks_of(inputs, step=7)  # same blocks, whatever the OS returns per read
    data = b"".join(d for d, _ in got)
    assert data == normalised(inputs)
    for d, ends in got:
        assert ends == [i + 1 for i, c in enumerate(d) if c == ord("\n")]
        assert d == b"" or d.endswith(b"\n")


def test_zero_separator_and_first_block():
    inputs = [b"a\nb\0c\0\0d"]
    got = blocks_of(inputs, sep=b"\0", first=1000)
    assert len(got) == 1 and got[0][0] == b"a\nb\0c\0\0d\0"
    assert got[0][1] == [4, 6, 7, 9]


def test_extents_read_pieces_of_open_files(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"0123456789abcdef\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        src = Extents([(fd, 10, 7), (fd, 0, 3)])
        buf = bytearray(5)
        parts = []
        while n := src.readinto(memoryview(buf)):
            parts.append(bytes(buf[:n]))
        assert b"".join(parts) == b"abcdef\n012"
    finally:
        os.close(fd)


def test_an_unreadable_path_fails_before_any_work(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot read input"):
        Source(tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        Source(tmp_path)
    assert Source(io.BytesIO(b"x")).size is None
    f = tmp_path / "f"
    f.write_bytes(b"abc")
    assert Source(f).size == 3 and np.isscalar(Source(str(f)).size)
