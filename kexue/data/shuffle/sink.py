"""Where shuffled lines go: one file (atomic), stdout or a stream, or numbered shards.

Files are written under a hidden temporary name beside their final name and renamed at the end
(``commit``), so readers never see a half-written file and the output may equal an input;
``abort`` removes them. A single-file output can also be written at offsets, from several
threads at once (:class:`OffsetOutput`), and can lend its temporary file to the scatter pass as
bucket storage (:meth:`Sink.region_file`).
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from typing import BinaryIO

import numpy as np

from kexue.data.shuffle import fileio

__all__ = ["Sink", "OffsetOutput", "Sizes"]

PathLike = str | os.PathLike
#: Gives the sizes of the lines in a block being written (only computed when needed: shards).
Sizes = Callable[[], np.ndarray]


def _create_beside(path: str) -> tuple[str, int]:
    directory, base = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"output directory {directory!r} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"output {path!r} is a directory")
    for _ in range(100):
        tmp = os.path.join(directory, f".{base}.{os.urandom(4).hex()}.kexue-tmp")
        try:
            return tmp, fileio.create(tmp, exclusive=True)
        except FileExistsError:
            continue
        except OSError as e:
            raise OSError(e.errno, f"cannot write output {path!r}: {e.strerror}") from None
    raise FileExistsError(errno.EEXIST, f"cannot create a temporary file beside {path!r}")


class OffsetOutput:
    """Writes consecutive blocks at ``offset`` of an open file (``pwrite``: safe from threads)."""

    def __init__(self, fd: int, offset: int, name: str):
        self.fd, self.offset, self.name = fd, offset, name

    def write(self, data: memoryview, nlines: int, sizes: Sizes | None = None) -> None:
        """Write ``nlines`` whole lines (``data``) at the current offset."""
        fileio.pwrite_all(self.fd, data, self.offset, self.name)
        self.offset += len(data)


class Sink:
    """The output of a run; counts lines and bytes and reports written bytes to ``on_bytes``."""

    def __init__(self, output: PathLike | BinaryIO, shard_lines: int | None,
                 shard_bytes: int | None, on_bytes: Callable[[int], None], fsync: bool = False):
        self.fsync = fsync
        self.shard_lines, self.shard_bytes = shard_lines, shard_bytes
        self.on_bytes = on_bytes
        self.lines = 0
        self.bytes = 0
        self.temps: list[tuple[str, str]] = []  # (temporary name, final name)
        self.fd = -1
        self.pos = 0  # write position in the current file
        self.stream: BinaryIO | None = None
        self.sharded = shard_lines is not None or shard_bytes is not None
        self.in_shard_lines = 0
        self.in_shard_bytes = 0
        if self.sharded:
            if output == "-" or hasattr(output, "write"):
                raise ValueError("sharded output needs a file name template, not a stream")
            self.template = os.fspath(output)  # type: ignore[arg-type]
            if "{" not in self.template:
                self.template += "-{i:05d}"
            try:
                self.template.format(i=0)
            except (KeyError, IndexError, ValueError) as e:
                raise ValueError(
                    f"invalid shard template {self.template!r}: use '{{i}}' or '{{i:05d}}' ({e})"
                ) from None
            if self.template.format(i=0) == self.template.format(i=1):
                raise ValueError(f"shard template {self.template!r} must contain '{{i}}'")
            self._new_file(self.template.format(i=0))
        elif output == "-":
            self.stream = sys.stdout.buffer
        elif hasattr(output, "write"):
            self.stream = output  # type: ignore[assignment]
        else:
            self._new_file(os.fspath(output))  # type: ignore[arg-type]

    # ----------------------------------------------------------------- files

    def _new_file(self, final: str) -> None:
        tmp, self.fd = _create_beside(final)
        self.temps.append((tmp, final))
        self.pos = 0

    def _close_file(self) -> None:
        if self.fd < 0:
            return
        fd, self.fd = self.fd, -1
        try:
            os.ftruncate(fd, self.pos)  # a lent file may extend past the output (sparse end)
            if self.fsync:
                os.fsync(fd)
        except OSError as e:
            raise fileio.named_enospc(e, self.temps[-1][1]) from e
        finally:
            os.close(fd)

    def _next_shard(self) -> None:
        self._close_file()
        self._new_file(self.template.format(i=len(self.temps)))
        self.in_shard_lines = 0
        self.in_shard_bytes = 0

    def region_file(self) -> tuple[int, str] | None:
        """The temporary file of a single-file output (fd, and the output name for messages),
        to hold buckets before anything is written to it (``None`` for streams and shards)."""
        if self.sharded or self.stream is not None or self.bytes:
            return None
        return self.fd, self.temps[0][1]

    def replace_file(self) -> tuple[int, str]:
        """Give the lent temporary file up as plain temporary storage (the caller closes and
        removes it: returns its fd and path) and continue the output in a fresh one."""
        old = (self.fd, self.temps[0][0])
        final = self.temps.pop()[1]
        self._new_file(final)
        return old

    def offset_output(self) -> tuple[int, str] | None:
        """An fd to write the (single-file) output at offsets and the output name, or
        ``None``."""
        if self.sharded or self.stream is not None:
            return None
        return self.fd, self.temps[0][1]

    # ----------------------------------------------------------------- writing

    def write(self, data: memoryview, nlines: int, sizes: Sizes | None = None) -> None:
        """Append ``nlines`` whole lines; ``sizes()`` gives their sizes (to cut shards)."""
        if not len(data):
            return
        if not self.sharded:
            self._append(data)
            self.lines += nlines
            return
        assert sizes is not None, "sharded output needs the line sizes"
        cum = np.cumsum(sizes())
        start, done = 0, 0  # lines and bytes of this block already written
        while start < len(cum):
            take = len(cum) - start
            if self.shard_lines is not None:
                take = min(take, self.shard_lines - self.in_shard_lines)
            if self.shard_bytes is not None:
                room = self.shard_bytes - self.in_shard_bytes
                take = min(take, int(np.searchsorted(cum[start:], done + room, side="right")))
            if take == 0 and self.in_shard_lines == 0:
                take = 1  # a line longer than a whole shard gets a shard of its own
            if take == 0:
                self._next_shard()
                continue
            end = int(cum[start + take - 1])
            self._append(data[done:end])
            self.lines += take
            self.in_shard_lines += take
            self.in_shard_bytes += end - done
            start, done = start + take, end

    def write_line_piece(self, data: memoryview, first: bool, last: bool, total: int) -> None:
        """Append a piece of one line of ``total`` bytes that is streamed in pieces."""
        if first and self.sharded and self.in_shard_lines and (
            (self.shard_lines is not None and self.in_shard_lines >= self.shard_lines)
            or (self.shard_bytes is not None and self.in_shard_bytes + total > self.shard_bytes)
        ):
            self._next_shard()
        self._append(data)
        self.in_shard_bytes += len(data)
        if last:
            self.lines += 1
            self.in_shard_lines += 1

    def _append(self, data: memoryview) -> None:
        if self.stream is not None:
            self.stream.write(data)
        else:
            fileio.pwrite_all(self.fd, data, self.pos, self.temps[-1][1])
            self.pos += len(data)
        self.bytes += len(data)
        self.on_bytes(len(data))

    def count(self, lines: int, nbytes: int) -> None:
        """Account for lines written through an :class:`OffsetOutput`."""
        self.lines += lines
        self.bytes += nbytes
        self.pos = max(self.pos, self.bytes)
        self.on_bytes(nbytes)

    # ----------------------------------------------------------------- the end

    def commit(self) -> tuple[str, ...]:
        """Flush, rename the temporary files to their final names; returns the final names."""
        if self.stream is not None:
            self.stream.flush()
        self._close_file()
        if self.sharded and self.in_shard_lines == 0 and self.lines > 0:
            tmp, _ = self.temps.pop()  # a trailing empty shard
            os.remove(tmp)
        for tmp, final in self.temps:
            os.replace(tmp, final)
        done = tuple(final for _, final in self.temps)
        self.temps = []
        return done

    def abort(self) -> None:
        """Remove every temporary file of the output."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        for tmp, _ in self.temps:
            try:
                os.remove(tmp)
            except OSError:
                pass
        self.temps = []
