"""The package's one line-file reader and writer: plain, gzip, bzip2, xz and zstd.

Reading goes by *content*, never by name: the first bytes of a file or of standard input are
compared with the magic numbers of the formats (gzip ``1f 8b``, bzip2 ``BZh``, xz
``fd 37 7a 58 5a 00``, zstd ``28 b5 2f fd``), so a compressed file named ``corpus.txt`` is
decompressed and a plain file named ``x.gz`` is read as it is. Concatenated members or streams
(``cat a.gz b.gz > ab.gz``, ``pbzip2`` output, multi-frame zstd) are read whole, as ``gzip -dc``
does. A truncated or corrupt compressed input raises :class:`CompressedDataError` (an
``OSError``) naming the file and the byte offset of the compressed data where decoding
stopped; callers write nothing in that case (their outputs go through :mod:`kexue.io.atomic`).

Writing goes by *name*: an output whose name ends in ``.gz``, ``.bz2``, ``.xz`` or ``.zst`` is
compressed (:func:`codec_for_name`, :class:`Encoder`, :func:`open_output`), anything else is
written plain. Gzip output carries no time stamp and no file name, so the same lines give the
same bytes. zstd needs the optional ``zstandard`` package (``pip install kexue[zstd]``); the
other formats use the standard library only.

Decompression is streamed in bounded pieces: reading never holds more than about
``_OUT_CHUNK`` decompressed bytes beyond what the caller asked for (zstd frames are decoded
per input chunk of ``_IN_CHUNK`` bytes).
"""

from __future__ import annotations

import bz2
import contextlib
import errno
import io
import lzma
import os
import stat
import sys
import zlib
from collections.abc import Iterator, Sequence
from typing import BinaryIO

__all__ = [
    "CODECS",
    "CompressedDataError",
    "Decoder",
    "Encoder",
    "codec_for_name",
    "detect",
    "file_codec",
    "open_input",
    "open_output",
    "read_lines",
    "require",
]

PathLike = str | os.PathLike

#: Magic bytes at the start of each compressed format.
MAGIC = {
    "gzip": b"\x1f\x8b",
    "bzip2": b"BZh",
    "xz": b"\xfd7zXZ\x00",
    "zstd": b"\x28\xb5\x2f\xfd",
}
#: Output name endings and the format they select.
SUFFIXES = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd"}
CODECS = tuple(MAGIC)
#: Allowed ``level`` values per format (defaults: gzip 6, bzip2 9, xz 6, zstd 3).
LEVELS = {"gzip": (1, 9, 6), "bzip2": (1, 9, 9), "xz": (0, 9, 6), "zstd": (1, 22, 3)}
_HEAD = max(len(m) for m in MAGIC.values())
_IN_CHUNK = 1 << 18
_OUT_CHUNK = 1 << 22


class CompressedDataError(OSError):
    """A compressed input that is truncated or corrupt (``errno.EIO``); the message names the
    input and the byte offset (``offset``) in the compressed data where decoding stopped."""

    def __init__(self, name: str, codec: str, offset: int, what: str):
        self.name, self.codec, self.offset = name, codec, offset
        super().__init__(errno.EIO, f"{name}: {codec} data {what}")


def detect(head: bytes) -> str | None:
    """The format whose magic bytes start ``head`` (``None``: plain)."""
    for codec, magic in MAGIC.items():
        if head.startswith(magic):
            return codec
    return None


def file_codec(path: PathLike) -> str | None:
    """The format of the file at ``path``, from its first bytes (``None``: plain, or not a
    regular file: a named pipe is only looked at when it is opened, see :func:`open_input`)."""
    if not stat.S_ISREG(os.stat(os.fspath(path)).st_mode):
        return None
    fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        return detect(os.pread(fd, _HEAD, 0))
    finally:
        os.close(fd)


def codec_for_name(path: PathLike) -> str | None:
    """The format an output named ``path`` is written in (by its ending; ``None``: plain)."""
    name = os.fspath(path).lower()
    for suffix, codec in SUFFIXES.items():
        if name.endswith(suffix):
            return codec
    return None


def _zstandard():
    try:
        import zstandard
    except ImportError:
        raise ImportError(
            "zstd data needs the optional 'zstandard' package: pip install 'kexue[zstd]' "
            "(or decompress with `zstd -dc FILE | kexue ... -`)"
        ) from None
    return zstandard


def require(codec: str | None) -> None:
    """Raise ``ImportError`` with the install hint when ``codec`` needs a missing package."""
    if codec == "zstd":
        _zstandard()


def _decompressor(codec: str):
    if codec == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if codec == "bzip2":
        return bz2.BZ2Decompressor()
    if codec == "xz":
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    return _zstandard().ZstdDecompressor().decompressobj()


def _read_raw(f, n: int) -> bytes:
    return f.read(n) or b""


def _read_head(f) -> bytes:
    """Up to ``_HEAD`` bytes from ``f`` (fewer only at its end)."""
    head = b""
    while len(head) < _HEAD:
        piece = _read_raw(f, _HEAD - len(head))
        if not piece:
            break
        head += piece
    return head


class _Prefixed(io.RawIOBase):
    """A plain stream whose first bytes were already read (``head``)."""

    def __init__(self, head: bytes, f, owned: bool):
        self.head, self.f, self.owned = memoryview(head), f, owned

    def readable(self) -> bool:
        return True

    def readinto(self, view) -> int:
        view = memoryview(view).cast("B")
        if len(self.head):
            n = min(len(view), len(self.head))
            view[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        if hasattr(self.f, "readinto"):
            return self.f.readinto(view) or 0
        data = self.f.read(len(view)) or b""
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self.owned and not self.closed:
            self.f.close()
        super().close()


class Decoder(io.RawIOBase):
    """The decompressed bytes of a compressed stream ``f`` (format ``codec``), read whole
    across concatenated members; ``head``: bytes of ``f`` already read. ``name`` is used in
    error messages; ``owned``: ``close`` closes ``f``."""

    def __init__(self, f, codec: str, name: str, head: bytes = b"", owned: bool = True):
        self.f, self.codec, self.name, self.owned = f, codec, name, owned
        self.magic = MAGIC[codec]
        self.pending = head  # compressed bytes read but not yet given to a decompressor
        self.pos = len(head)  # compressed bytes read from f so far
        self.dec = None  # decompressor of the current member (None: between members)
        self.out = memoryview(b"")
        self.done = False
        self.members = 0

    def readable(self) -> bool:
        return True

    def _offset(self) -> int:
        return self.pos - len(self.pending)

    def _fetch(self) -> bytes:
        try:
            data = _read_raw(self.f, _IN_CHUNK)
        except OSError as e:
            raise OSError(e.errno, f"cannot read {self.name}: {e.strerror or e}") from None
        self.pos += len(data)
        return data

    def _start_member(self) -> bool:
        """Begin the next member; False at a clean end of the data."""
        while len(self.pending) < len(self.magic):
            data = self._fetch()
            if not data:
                break
            self.pending += data
        if not self.pending:
            return False
        if not self.pending.startswith(self.magic):
            raise CompressedDataError(self.name, self.codec, self._offset(),
                                      "is followed by bytes that are not a new "
                                      f"{self.codec} stream, at byte {self._offset():,}")
        self.dec = _decompressor(self.codec)
        self.members += 1
        return True

    def _truncated(self) -> CompressedDataError:
        return CompressedDataError(self.name, self.codec, self.pos,
                                   f"ends inside a compressed stream at byte {self.pos:,} "
                                   "(truncated file?)")

    def _decode(self) -> bytes:
        """The next piece of decompressed data (possibly empty); sets ``done`` at the end."""
        if self.dec is None and not self._start_member():
            self.done = True
            return b""
        d = self.dec
        data = b""
        if self.codec in ("bzip2", "xz"):  # these decompressors buffer their input
            if d.needs_input:
                data, self.pending = self.pending or self._fetch(), b""
                if not data:
                    raise self._truncated()
        elif not self.pending:
            self.pending = self._fetch()
            if not self.pending:
                raise self._truncated()
        try:
            if self.codec == "gzip":
                out = d.decompress(self.pending, _OUT_CHUNK)
                self.pending = d.unconsumed_tail
            elif self.codec == "zstd":
                data, self.pending = self.pending, b""
                out = d.decompress(data)
            else:
                out = d.decompress(data, _OUT_CHUNK)
        except Exception as e:  # zlib.error, OSError (bz2), LZMAError, EOFError, ZstdError
            raise CompressedDataError(self.name, self.codec, self.pos,  # all input given so far
                                      f"is corrupt at or before byte {self.pos:,} ({e})"
                                      ) from None
        if d.eof:
            self.pending = d.unused_data + self.pending
            self.dec = None
        return out

    def readinto(self, view) -> int:
        view = memoryview(view).cast("B")
        while not len(self.out):
            if self.done or not len(view):
                return 0
            self.out = memoryview(self._decode())
        n = min(len(view), len(self.out))
        view[:n] = self.out[:n]
        self.out = self.out[n:]
        return n

    def close(self) -> None:
        if self.owned and not self.closed:
            self.f.close()
        super().close()


def open_input(spec: PathLike | BinaryIO, name: str | None = None):
    """Open a line file for reading, decompressed by content: ``spec`` a path, ``"-"``
    (standard input, never closed) or a binary stream (not closed). Returns an unbuffered
    binary stream with ``readinto``: the file itself for a plain named file, else a
    :class:`Decoder` (compressed) or a stream that replays the bytes read to detect."""
    if spec == "-" or hasattr(spec, "read"):
        f = sys.stdin.buffer if spec == "-" else spec
        name = name or ("<stdin>" if spec == "-" else getattr(spec, "name", "<stream>"))
        head = _read_head(f)
        codec = detect(head)
        if codec is None:
            return _Prefixed(head, f, owned=False)
        return Decoder(f, codec, name, head, owned=False)
    path = os.fspath(spec)  # type: ignore[arg-type]
    name = name or repr(path)
    f = open(path, "rb", buffering=0)
    try:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # a named pipe, a device
            head = _read_head(f)
            codec = detect(head)
            require(codec)
            if codec is None:
                return _Prefixed(head, f, owned=True)
            return Decoder(f, codec, name, head, owned=True)
        codec = detect(os.pread(f.fileno(), _HEAD, 0))
        if codec is None:
            return f
        require(codec)
        return Decoder(f, codec, name, owned=True)
    except BaseException:
        f.close()
        raise


def read_lines(spec: PathLike | BinaryIO, name: str | None = None) -> Iterator[bytes]:
    """The lines (bytes, each with its ``\\n`` where it has one) of a line file, streaming."""
    raw = open_input(spec, name)
    with io.BufferedReader(raw, 1 << 20) as f:
        yield from f


class Encoder:
    """Compresses what is written to it into the binary file ``f`` (format ``codec``;
    ``level`` within :data:`LEVELS`, ``None``: the format's default). ``close`` ends the
    stream and flushes ``f`` but leaves it open."""

    def __init__(self, f, codec: str, level: int | None = None):
        if codec not in MAGIC:
            raise ValueError(f"unknown compression {codec!r} (one of {', '.join(CODECS)})")
        low, high, default = LEVELS[codec]
        if level is None:
            level = default
        if isinstance(level, bool) or not isinstance(level, int) or not low <= level <= high:
            raise ValueError(f"{codec} level must be an int in [{low}, {high}], got {level!r}")
        self.f, self.codec, self.level = f, codec, level
        if codec == "gzip":
            self.c = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        elif codec == "bzip2":
            self.c = bz2.BZ2Compressor(level)
        elif codec == "xz":
            self.c = lzma.LZMACompressor(format=lzma.FORMAT_XZ, preset=level)
        else:
            self.c = _zstandard().ZstdCompressor(level=level).compressobj()
        self.closed = False

    def write(self, data) -> int:
        out = self.c.compress(data)
        if out:
            self.f.write(out)
        return len(data)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        out = self.c.flush()
        if out:
            self.f.write(out)
        self.f.flush()


@contextlib.contextmanager
def open_output(path: PathLike, level: int | None = None, *,
                like: PathLike | Sequence[PathLike] | None = None,
                fsync: bool = True) -> Iterator[BinaryIO]:
    """Write a line file atomically (through :func:`kexue.io.atomic.atomic_write`),
    compressed when its name ends in ``.gz``/``.bz2``/``.xz``/``.zst``. Yields an object with
    ``write(bytes)``; on any error nothing is left at ``path``."""
    from kexue.io.atomic import atomic_write

    codec = codec_for_name(path)
    if codec is None and level is not None:
        raise ValueError(f"a compression level was given but {os.fspath(path)!r} is not "
                         "compressed (name it .gz, .bz2, .xz or .zst)")
    enc = Encoder(io.BytesIO(), codec, level) if codec else None  # check level before writing
    with atomic_write(path, "wb", like=like, fsync=fsync) as f:
        if enc is None:
            yield f
        else:
            enc = Encoder(f, codec, level)  # type: ignore[arg-type]
            yield enc  # type: ignore[misc]
            enc.close()
