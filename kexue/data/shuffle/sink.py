"""Where shuffled lines go: one file (atomic), stdout or a stream, or numbered shards.

Files are written under a hidden temporary name beside their final name and renamed at the end
(``commit``), so readers never see a half-written file and the output may equal an input;
``abort`` removes them. The temporary files are made and committed by the package's one
atomic writer (:mod:`kexue.io.atomic`, its descriptor-level ``create_temp`` / ``commit_temp`` /
``discard_temp``, since the shuffle writes at offsets): an output keeps the mode of the file it
replaces and never becomes more readable than the inputs (``like``), and the stale temporary
files of an earlier run that was killed are removed when the same output is written again.

A set of shards (``OUTPUT`` a template with ``{i}``) is refused when files of the set already
exist, unless ``force``: then the new set replaces the old one only once it is complete (new
shards renamed over old ones, then the old set's extra shards removed).

An output file whose name ends in ``.gz``, ``.bz2``, ``.xz`` or ``.zst`` (each shard's name,
for a set of shards) is compressed as it is written (:class:`kexue.io.lines.Encoder`, at
``level``); such an output is written in order, never at offsets, and lends no region file.

A plain single-file output can also be written at offsets, from several threads at once
(:class:`OffsetOutput`), and can lend its temporary file to the scatter pass as bucket storage
(:meth:`Sink.region_file`).
"""

from __future__ import annotations

import errno
import os
import re
import string
import sys
from collections.abc import Callable, Sequence
from typing import BinaryIO

import numpy as np

from kexue.data.shuffle import fileio
from kexue.io import atomic
from kexue.io import lines as linefiles

__all__ = ["Sink", "OffsetOutput", "Sizes", "existing_shards", "shard_pattern"]

PathLike = str | os.PathLike
#: Gives the sizes of the lines in a block being written (only computed when needed: shards).
Sizes = Callable[[], np.ndarray]


def shard_pattern(template: str) -> tuple[str, re.Pattern[str]]:
    """The directory of a shard template and a pattern matching its shard file names.

    The template must hold exactly one ``{i}`` field (any integer format), in the file name."""
    fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    if fields != ["i"]:
        raise ValueError(f"shard template {template!r} must contain '{{i}}' exactly once "
                         "(e.g. 'part-{i:05d}.txt')")
    (prefix, _, _, _), *rest = string.Formatter().parse(template)
    suffix = "".join(lit for lit, *_ in rest)
    directory = os.path.dirname(prefix)
    if os.sep in suffix or (os.altsep and os.altsep in suffix):
        raise ValueError(f"shard template {template!r}: '{{i}}' must be in the file name, "
                         "not in a directory name")
    base = os.path.basename(prefix)
    return directory or ".", re.compile(re.escape(base) + r"([0-9]+)" + re.escape(suffix))


def existing_shards(template: str) -> list[str]:
    """Files that belong to the shard set of ``template`` (sorted by shard number)."""
    directory, pattern = shard_pattern(template)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        m = pattern.fullmatch(name)
        if m is None:
            continue
        path = os.path.join(directory, name)
        number = int(m.group(1))
        if os.path.normpath(template.format(i=number)) == os.path.normpath(path):
            found.append((number, path))
    return [path for _, path in sorted(found)]


def _remove_stale_shard_temps(template: str) -> None:
    """Remove the temporary files that killed earlier runs left for shards of ``template``."""
    directory, pattern = shard_pattern(template)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    bases = set()
    for name in names:
        if name.startswith(".") and name.endswith(atomic.TEMP_SUFFIX):
            base = name[1:-len(atomic.TEMP_SUFFIX)].rsplit(".", 2)[0]
            if pattern.fullmatch(base):
                bases.add(base)
    for base in bases:
        atomic.remove_stale_temps(os.path.join(directory, base))


class _FdWriter:
    """Appends to an open file descriptor (the compressed bytes of an output)."""

    def __init__(self, fd: int, name: str):
        self.fd, self.name, self.pos = fd, name, 0

    def write(self, data) -> int:
        fileio.pwrite_all(self.fd, data, self.pos, self.name)
        self.pos += len(data)
        return len(data)

    def flush(self) -> None:
        pass


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
                 shard_bytes: int | None, on_bytes: Callable[[int], None], fsync: bool = False,
                 *, like: Sequence[PathLike] = (), force: bool = False,
                 level: int | None = None):
        self.fsync = fsync
        self.level = level
        self.encoder: linefiles.Encoder | None = None
        self.codec: str | None = None
        self.like = list(like)  # input files: the outputs are never more readable than these
        self.replaced: list[str] = []  # shards of an earlier set, removed at commit (force)
        self.shard_lines, self.shard_bytes = shard_lines, shard_bytes
        self.on_bytes = on_bytes
        self.lines = 0
        self.bytes = 0
        self.temps: list[tuple[str, str]] = []  # (temporary name, final name)
        self.done: list[str] = []  # final names already committed
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
            shard_pattern(self.template)
            self._set_codec(self.template.format(i=0), level)
            _remove_stale_shard_temps(self.template)
            old = existing_shards(self.template)
            if old and not force:
                shown = ", ".join(repr(p) for p in old[:3]) + (" ..." if len(old) > 3 else "")
                raise FileExistsError(
                    errno.EEXIST,
                    f"{len(old)} shard file(s) of {self.template!r} already exist ({shown}); "
                    "a new set would mix with them: remove them, choose another name, or "
                    "pass --force (force=True) to replace the whole set once the new one is "
                    "complete")
            self.replaced = old
            self._new_file(self.template.format(i=0))
        elif output == "-":
            self._set_codec(None, level)
            self.stream = sys.stdout.buffer
        elif hasattr(output, "write"):
            self._set_codec(None, level)
            self.stream = output  # type: ignore[assignment]
        else:
            self._set_codec(os.fspath(output), level)  # type: ignore[arg-type]
            atomic.remove_stale_temps(os.fspath(output))  # type: ignore[arg-type]
            self._new_file(os.fspath(output))  # type: ignore[arg-type]

    # ----------------------------------------------------------------- files

    def _set_codec(self, name: str | None, level: int | None) -> None:
        self.codec = linefiles.codec_for_name(name) if name is not None else None
        if self.codec is None and level is not None:
            raise ValueError("a compression level needs an output named .gz, .bz2, .xz or .zst")
        if self.codec is not None:
            linefiles.Encoder(_FdWriter(-1, ""), self.codec, level)  # checks level and package

    def _new_file(self, final: str) -> None:
        with atomic.deferred_signals():  # registered before an interrupt can strike
            tmp, self.fd = atomic.create_temp(final)
            self.temps.append((tmp, final))
        self.pos = 0
        if self.codec is not None:
            self.encoder = linefiles.Encoder(_FdWriter(self.fd, final), self.codec, self.level)

    def _close_file(self) -> None:
        if self.fd < 0:
            return
        fd, self.fd = self.fd, -1
        try:
            if self.encoder is not None:
                encoder, self.encoder = self.encoder, None
                encoder.close()
                self.pos = encoder.f.pos
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
        if self.sharded or self.stream is not None or self.bytes or self.codec is not None:
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
        if self.sharded or self.stream is not None or self.codec is not None:
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

    def _stream_error(self, e: OSError) -> OSError:
        """A write error of the output stream, named as such (not as a temporary file's)."""
        what = "standard output" if self.stream is getattr(sys.stdout, "buffer", None) else (
            "the output stream")
        reason = "no space left on device" if e.errno == errno.ENOSPC else (e.strerror or str(e))
        return OSError(e.errno, f"cannot write {what}: {reason}")

    def _append(self, data: memoryview) -> None:
        if self.stream is not None:
            try:
                self.stream.write(data)
            except BrokenPipeError:
                raise
            except OSError as e:
                raise self._stream_error(e) from e
        elif self.encoder is not None:
            self.encoder.write(data)
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
        """Flush, rename the temporary files to their final names; returns the final names.

        With ``force``, shards of the earlier set that the new set does not overwrite are
        removed after every new shard is in place."""
        if self.stream is not None:
            try:
                self.stream.flush()
            except BrokenPipeError:
                raise
            except OSError as e:
                raise self._stream_error(e) from e
        self._close_file()
        if self.sharded and self.in_shard_lines == 0 and self.lines > 0:
            tmp, _ = self.temps.pop()  # a trailing empty shard
            atomic.discard_temp(tmp)
        while self.temps:
            tmp, final = self.temps[0]
            atomic.commit_temp(tmp, final, like=self.like, fsync=self.fsync)
            self.temps.pop(0)
            self.done.append(final)
        kept = {os.path.realpath(p) for p in self.done}
        for old in self.replaced:
            if os.path.realpath(old) not in kept:
                try:
                    os.remove(old)
                except FileNotFoundError:
                    pass
        self.replaced = []
        return tuple(self.done)

    def abort(self) -> None:
        """Remove every temporary file of the output."""
        self.encoder = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        for tmp, _ in self.temps:
            atomic.discard_temp(tmp)
        self.temps = []
