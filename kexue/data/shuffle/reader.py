"""Reading inputs as blocks of whole lines.

:class:`BlockReader` reads a sequence of inputs (files, stdin, streams, or the extents of a
bucket in temporary files) into large reused buffers and hands out :class:`Block` s: a view of
whole lines plus their line ends (found by the compiled core). The inputs are one corpus: a
last line without a separator gets one, so lines of two inputs are never glued together.
Blocks never depend on how the operating system splits reads (a buffer is always filled up to
its size). Reading runs on the caller's thread: with the writes of the scatter pass on a second
thread, that uses both cores, and a third (read-ahead) thread was measured to slow the pass
down on two cores (more hand-offs, and the threads take turns on the GIL).
"""

from __future__ import annotations

import errno
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import numpy as np

from kexue.data.shuffle.fileio import anonymous
from kexue.data.shuffle.lines import LineIndex
from kexue.io import lines as linefiles

__all__ = ["Input", "Source", "Extents", "Block", "BlockReader", "LineTooLong", "ReadAhead"]

PathLike = str | os.PathLike


class Input(Protocol):
    """What a reader needs of an open input."""

    def readinto(self, view: memoryview) -> int: ...

    def close(self) -> None: ...


class _Stream:
    """An input stream (``readinto`` if it has one, else ``read``); closed only if owned."""

    def __init__(self, f: BinaryIO, owned: bool):
        self.f, self.owned = f, owned

    def readinto(self, view: memoryview) -> int:
        if hasattr(self.f, "readinto"):
            return self.f.readinto(view) or 0
        data = self.f.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self.owned:
            self.f.close()


class Source:
    """One input given by the caller: a path, ``"-"`` (stdin) or a binary stream. A path is
    checked at construction, so an unreadable input fails before any work. Compressed inputs
    (gzip, bzip2, xz, zstd, recognised by content: :mod:`kexue.io.lines`) are decompressed as
    they are read; their ``size`` is unknown (``None``), as for stdin. ``codec``: the format
    of a named file (``None``: plain or not a file)."""

    def __init__(self, spec: PathLike | BinaryIO):
        self.spec = spec
        self.size: int | None = None
        self.codec: str | None = None
        self.is_path = False  # a named file (its permissions limit the output's)
        if spec == "-":
            self.name = "<stdin>"
        elif hasattr(spec, "read"):
            self.name = getattr(spec, "name", "<stream>")
        else:
            path = os.fspath(spec)
            self.name = path
            self.is_path = True
            try:
                os.stat(path)
            except OSError as e:
                raise OSError(e.errno, f"cannot read input {path!r}: {e.strerror}") from None
            if os.path.isdir(path):
                raise IsADirectoryError(errno.EISDIR, f"input {path!r} is a directory")
            try:
                open(path, "rb").close()
            except OSError as e:
                raise OSError(e.errno, f"cannot read input {path!r}: {e.strerror}") from None
            self.codec = linefiles.file_codec(path)
            linefiles.require(self.codec)  # an optional package is missing: fail now
            if os.path.isfile(path) and self.codec is None:
                self.size = os.stat(path).st_size

    def open(self) -> Input:
        """Open for reading (stdin and caller streams are not closed afterwards)."""
        if self.spec == "-":
            return _Stream(linefiles.open_input("-"), owned=False)
        if hasattr(self.spec, "read"):
            return _Stream(linefiles.open_input(self.spec), owned=False)  # type: ignore[arg-type]
        return _Stream(linefiles.open_input(os.fspath(self.spec)), owned=True)


class Extents:
    """An input made of ``(fd, offset, length)`` pieces of open files (a bucket)."""

    def __init__(self, extents: Sequence[tuple[int, int, int]]):
        self.extents = list(extents)
        self.i = 0
        self.done = 0  # bytes of extent i already read

    def readinto(self, view: memoryview) -> int:
        while self.i < len(self.extents):
            fd, offset, length = self.extents[self.i]
            left = length - self.done
            if left == 0:
                self.i += 1
                self.done = 0
                continue
            n = os.preadv(fd, [view[: min(left, len(view))]], offset + self.done)
            if n == 0:
                raise OSError(errno.EIO, "a temporary file of kexue shuffle was truncated")
            self.done += n
            return n
        return 0

    def close(self) -> None:
        pass


class LineTooLong(ValueError):
    """A line longer than the reader's ``max_line`` (``name``, 1-based ``line`` number within
    that input, ``size`` in bytes with its separator)."""

    def __init__(self, name: str, line: int, size: int, max_line: int):
        self.name, self.line, self.size, self.max_line = name, line, size, max_line
        super().__init__(f"{name}: line {line} is {size:,} bytes, longer than the "
                         f"{max_line:,} bytes a line may have")


@dataclass
class Block:
    """Whole lines (``data``, each ending with the separator) and their ``ends``. ``eof``: the
    last block. Valid until the next block is requested."""

    data: memoryview
    ends: np.ndarray
    eof: bool
    slot: _Slot


class _Slot:
    """A reusable read buffer with its line index."""

    def __init__(self, size: int):
        self.buf = anonymous(size)
        self.view = memoryview(self.buf)
        self.index = LineIndex()

    @property
    def size(self) -> int:
        return len(self.buf)

    def grow(self, size: int, keep: int) -> None:
        """Enlarge to ``size`` bytes, keeping the first ``keep``."""
        buf = anonymous(size)
        buf[:keep] = self.view[:keep]
        self.close()
        self.buf, self.view = buf, memoryview(buf)

    def close(self) -> None:
        """Free the buffer now, or when the last view of it handed out is gone."""
        try:
            self.view.release()
            self.buf.close()
        except BufferError:
            pass


class BlockReader:
    """Blocks of whole lines from ``openers`` (called in order, one input each).

    The first block may be larger (``first`` bytes, to decide whether everything fits in
    memory), the others are ``chunk`` bytes; a line longer than a buffer enlarges it. One
    buffer is reused: a block is valid until the next one is requested. With ``max_line``, a
    line longer than that many bytes raises :class:`LineTooLong` (naming the input, the line
    number and the line's full size) and no buffer ever grows beyond ``max_line + 1`` bytes.
    """

    def __init__(self, openers: Sequence[Callable[[], Input]], names: Sequence[str], sep: bytes,
                 chunk: int, first: int | None = None, max_line: int | None = None):
        self.openers, self.names = list(openers), list(names)
        self.sep, self.chunk = sep[0], chunk
        self.first = max(chunk, first or chunk)
        self.next_input = 0
        self.current: Input | None = None
        self.current_name = ""
        self.last_byte = -1  # last byte read from the current input (-1: none yet)
        self.carry = b""  # an incomplete line left at the end of the previous block
        self.blocks = 0
        self.finished = False
        self.slots: list[_Slot] = []
        self.max_line = max_line
        self.opened = 0  # inputs opened so far
        # Where inputs begin in the buffer being filled: (offset, name, lines of that input
        # before the offset); line numbers of an error are counted from these.
        self.starts: list[tuple[int, str, int]] = []

    # ----------------------------------------------------------------- filling one buffer

    def _slot(self, reuse: _Slot | None) -> _Slot:
        want = self.first if self.blocks == 0 else self.chunk
        want = max(want, 2 * len(self.carry) + 2)
        if reuse is not None and reuse.size >= want and (reuse.size <= 2 * want):
            return reuse
        if reuse is not None:
            self.slots.remove(reuse)
            reuse.close()
        slot = _Slot(want)
        self.slots.append(slot)
        return slot

    def _read(self, view: memoryview) -> int:
        """Read into ``view`` from the current input, opening the next one as needed; 0 at
        the end of all inputs. At the end of an input whose last line has no separator, one
        separator byte is produced."""
        while True:
            if self.current is None:
                if self.next_input == len(self.openers):
                    return 0
                self.current_name = self.names[self.next_input]
                self.current = self.openers[self.next_input]()
                self.next_input += 1
                self.opened += 1
                self.last_byte = -1
            try:
                n = self.current.readinto(view)
            except OSError as e:
                if e.errno == errno.ENOSPC or isinstance(e, linefiles.CompressedDataError):
                    raise
                raise OSError(e.errno, f"cannot read {self.current_name}: {e.strerror or e}"
                              ) from None
            if n:
                self.last_byte = view[n - 1]
                return n
            self.current.close()
            self.current = None
            if self.last_byte not in (-1, self.sep):
                view[0] = self.sep
                self.last_byte = self.sep
                return 1

    def _fill(self, slot: _Slot) -> Block:
        pos = len(self.carry)
        slot.view[:pos] = self.carry
        self.carry = b""
        if self.starts:  # the buffer goes on with the input of the previous block's end
            offset, name, before = self.starts[-1]
            self.starts = [(0, name, before)]
        while True:
            eof = False
            while pos < slot.size:
                opened = self.opened
                n = self._read(slot.view[pos:])
                if self.opened != opened:
                    self.starts.append((pos, self.current_name, 0))
                if n == 0:
                    eof = True
                    break
                pos += n
            ends = slot.index.ends(slot.view[:pos], self.sep)
            if eof or len(ends):
                break
            if self.max_line is not None and pos > self.max_line:
                self._too_long(slot, 0, pos, ends)  # one incomplete line fills the buffer
            size = 2 * slot.size
            if self.max_line is not None:
                size = min(size, self.max_line + 1)
            slot.grow(size, pos)  # one line longer than the buffer
        self.blocks += 1
        used = pos if eof else int(ends[-1])
        if self.max_line is not None and used > self.max_line and len(ends):
            sizes = np.diff(ends, prepend=0)
            j = int(np.argmax(sizes))
            if int(sizes[j]) > self.max_line:
                self._too_long(slot, j, None, ends)
        if self.starts:  # lines of the last input before this buffer's end, for the next one
            offset, name, before = self.starts[-1]
            done = len(ends) - int(np.searchsorted(ends, offset, side="right"))
            self.starts[-1] = (offset, name, before + done)
        if eof:
            self.finished = True
            return Block(slot.view[:pos], ends, True, slot)
        end = int(ends[-1])
        self.carry = bytes(slot.view[end:pos])
        return Block(slot.view[:end], ends, False, slot)

    def _too_long(self, slot: _Slot, j: int, partial: int | None, ends: np.ndarray) -> None:
        """Raise :class:`LineTooLong` for line ``j`` of the buffer (``partial``: an incomplete
        line of that many bytes at the start of the buffer, measured to its end first)."""
        start = int(ends[j - 1]) if j > 0 else 0
        offset, name, before = self.starts[0] if self.starts else (0, "input", 0)
        for o, n, b in self.starts:
            if o <= start:
                offset, name, before = o, n, b
        line = before + j - int(np.searchsorted(ends, offset, side="right")) + 1
        if partial is None:
            size = int(ends[j]) - start
        else:
            size = partial
            while True:  # read on (reusing the buffer) to the line's end, to report its size
                n = self._read(slot.view)
                if n == 0:
                    break
                found = slot.index.ends(slot.view[:n], self.sep)
                if len(found):
                    size += int(found[0])
                    break
                size += n
        raise LineTooLong(name, line, size, self.max_line or 0)

    # ----------------------------------------------------------------- iteration

    def __iter__(self) -> Iterator[Block]:
        slot = None
        while not self.finished:
            slot = self._slot(slot)
            yield self._fill(slot)

    def close(self) -> None:
        """Close the open input and free the buffers."""
        if self.current is not None:
            self.current.close()
            self.current = None
        for slot in self.slots:
            slot.close()
        self.slots = []


class _Ahead:
    """One compressed input decompressed on a background thread into a bounded queue of
    pieces (an :class:`Input` for the reader; ``close`` stops the thread)."""

    _PIECE = 1 << 20

    def __init__(self, source: Source, limit: int):
        self.source = source
        self.queue: queue.Queue = queue.Queue(maxsize=max(2, limit // self._PIECE))
        self.stop = threading.Event()
        self.piece = memoryview(b"")
        self.finished = False
        self.thread = threading.Thread(target=self._produce, daemon=True,
                                       name="kexue-shuffle-decompress")
        self.thread.start()

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        f = None
        try:
            f = self.source.open()
            while True:
                buf = bytearray(self._PIECE)
                view = memoryview(buf)
                n = 0
                while n < len(buf):  # whole pieces: fewer hand-offs
                    got = f.readinto(view[n:])
                    if not got:
                        break
                    n += got
                if n == 0:
                    self._put(None)
                    return
                if not self._put(view[:n]):
                    return
        except BaseException as e:  # handed to the reading thread
            self._put(e)
        finally:
            if f is not None:
                f.close()

    def readinto(self, view: memoryview) -> int:
        while not len(self.piece):
            if self.finished:
                return 0
            item = self.queue.get()
            if item is None:
                self.finished = True
                return 0
            if isinstance(item, BaseException):
                self.finished = True
                raise item
            self.piece = item
        n = min(len(view), len(self.piece))
        view[:n] = self.piece[:n]
        self.piece = self.piece[n:]
        return n

    def close(self) -> None:
        self.stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        self.thread.join()
        self.piece = memoryview(b"")


class ReadAhead:
    """Openers for ``sources`` that decompress compressed files on up to ``threads``
    background threads, each running ahead of the reader by at most ``limit // threads``
    bytes: while input ``i`` is read, the next compressed inputs are already being
    decompressed. Plain files and streams are read as usual. The bytes handed to the reader
    are the same, so the output never depends on ``threads``."""

    def __init__(self, sources: Sequence[Source], threads: int, limit: int):
        self.sources = list(sources)
        self.threads = threads
        self.per = max(2 * _Ahead._PIECE, limit // max(1, threads))
        self.ahead: dict[int, _Ahead] = {}
        self.compressed = [i for i, s in enumerate(self.sources)
                           if s.codec is not None and s.is_path]

    def _start(self, i: int) -> None:
        """Make sure the compressed inputs from ``i`` on are decompressing (``threads`` at
        most, counting the ones not yet opened)."""
        for j in self.compressed:
            if j < i or j in self.ahead:
                continue
            if len(self.ahead) >= self.threads:
                break
            self.ahead[j] = _Ahead(self.sources[j], self.per)

    def opener(self, i: int) -> Callable[[], Input]:
        def open_() -> Input:
            if i in self.ahead or i in self.compressed:
                self._start(i)
                return _Owned(self, i, self.ahead[i])
            self._start(i + 1)
            return self.sources[i].open()
        return open_

    def release(self, i: int) -> None:
        ahead = self.ahead.pop(i, None)
        if ahead is not None:
            ahead.close()

    def close(self) -> None:
        for i in list(self.ahead):
            self.release(i)


class _Owned:
    """An input handed out by :class:`ReadAhead`: closing it frees its thread's slot."""

    def __init__(self, owner: ReadAhead, i: int, ahead: _Ahead):
        self.owner, self.i, self.ahead = owner, i, ahead

    def readinto(self, view: memoryview) -> int:
        return self.ahead.readinto(view)

    def close(self) -> None:
        self.owner.release(self.i)
