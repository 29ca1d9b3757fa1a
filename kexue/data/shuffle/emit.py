"""Phase 2: shuffle buckets that fit in memory and write them, on several threads.

:func:`emit` permutes the lines of a buffer (NumPy ``Generator.permutation``: an unbiased
Fisher-Yates shuffle) and writes them in blocks gathered by the compiled core.
:class:`Emitter` runs one bucket per thread (read, index, permute, gather, write at the
bucket's own output offset); the C loops and the file reads and writes release the GIL, so the
threads use separate cores. Each thread keeps its buffers between buckets.

When the output file also holds the buckets' regions (see :mod:`kexue.data.shuffle.store`), a
bucket's output range may cover the regions of earlier buckets: the :class:`Gate` makes every
write wait until all buckets before it have been read into memory.
"""

from __future__ import annotations

import collections
import mmap
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

import numpy as np

from kexue.data.shuffle.fileio import anonymous, pread_into
from kexue.data.shuffle.lines import LineIndex, find_ends, gather, line_sizes
from kexue.data.shuffle.sink import OffsetOutput, Sizes
from kexue.data.shuffle.store import Bucket

__all__ = ["Output", "emit", "Gate", "Emitter"]

#: A bucket is read and indexed in pieces of this size.
_PIECE = 2 << 20


class Output(Protocol):
    """Where :func:`emit` writes (a :class:`~kexue.data.shuffle.sink.Sink` or an offset)."""

    def write(self, data: memoryview, nlines: int, sizes: Sizes | None = None) -> None: ...


def emit(data: memoryview, ends: np.ndarray, rng: np.random.Generator, out: Output,
         block: memoryview) -> None:
    """Write the lines of ``data`` (line ends ``ends``) to ``out`` in a uniformly random order,
    gathered into ``block``-sized writes (a longer line is written on its own). Gathering in
    user space and writing large blocks costs less than handing the kernel one piece per line,
    and the gather runs in parallel on several threads while writes to one file do not."""
    n = len(ends)
    perm = rng.permutation(n)
    j = 0
    while j < n:
        copied, nbytes = gather(data, ends, perm[j:], block)
        if copied == 0:  # one line longer than the block
            o = int(perm[j])
            a, b = (int(ends[o - 1]) if o else 0), int(ends[o])
            out.write(data[a:b], 1, lambda size=b - a: np.array([size]))
            j += 1
            continue
        part = perm[j : j + copied]
        out.write(block[:nbytes], copied, lambda part=part: line_sizes(ends, part))
        j += copied


class Gate:
    """Tickets in bucket order; :meth:`wait` returns once every earlier ticket was read."""

    def __init__(self) -> None:
        self.cv = threading.Condition()
        self.issued = 0
        self.upto = 0  # every ticket below this has been read
        self.read: set[int] = set()
        self.failed = False

    def ticket(self) -> int:
        with self.cv:
            self.issued += 1
            return self.issued - 1

    def done(self, ticket: int) -> None:
        with self.cv:
            self.read.add(ticket)
            while self.upto in self.read:
                self.read.remove(self.upto)
                self.upto += 1
            self.cv.notify_all()

    def fail(self) -> None:
        with self.cv:
            self.failed = True
            self.cv.notify_all()

    def wait(self, ticket: int) -> None:
        with self.cv:
            self.cv.wait_for(lambda: self.upto >= ticket or self.failed)
            if self.failed:
                raise RuntimeError("an earlier bucket failed")


class _Buffers:
    """One thread's memory: the bucket buffer, its line index, the output block."""

    def __init__(self, size: int, block: int):
        self.buf = anonymous(size)
        self.view = memoryview(self.buf)
        self.index = LineIndex()
        self.block_buf = anonymous(block)
        self.block = memoryview(self.block_buf)

    def load(self, bucket: Bucket, sep: int) -> tuple[memoryview, np.ndarray]:
        """Read a bucket and index its lines, piece by piece (each piece is searched for
        separators right after it is read, while it is still in the CPU cache)."""
        data = self.view[: bucket.nbytes]
        ends = self.index.reserve(bucket.nlines)
        pos = found = 0
        for fd, offset, length in bucket.extents:
            done = 0
            while done < length:
                n = min(_PIECE, length - done)
                pread_into(fd, data[pos : pos + n], offset + done)
                count = find_ends(data[pos : pos + n], sep, ends[found:])
                if found + count > bucket.nlines:
                    break
                ends[found : found + count] += pos
                found += count
                pos += n
                done += n
        if pos != bucket.nbytes or found != bucket.nlines or (found and ends[-1] != pos):
            raise OSError("a bucket of kexue shuffle does not hold the lines written to it")
        return data, ends

    def trim(self) -> None:
        """Give the pages back to the system (they are zero again on next use)."""
        self.buf.madvise(mmap.MADV_DONTNEED)
        self.index.release()

    def close(self) -> None:
        for v, b in ((self.view, self.buf), (self.block, self.block_buf)):
            try:
                v.release()
                b.close()
            except BufferError:  # still viewed somewhere: freed with the last view
                pass


class Emitter:
    """Shuffles and writes buckets: on ``workers`` threads at offsets of the output file (an fd
    and name in ``target``), or on the calling thread to a sequential output.

    ``slot = memory // workers`` is the largest bucket cost a thread takes; costlier buckets run
    alone with the threads' buffers released (:meth:`emit_alone`), so the buckets in memory
    never cost more than ``memory`` together (plus one output block per thread).
    """

    def __init__(self, workers: int, memory: int, block: int, sep: bytes,
                 target: tuple[int, str] | None, on_done: Callable[[Bucket], None]):
        self.workers = workers if target is not None else 1
        self.slot = memory // self.workers
        self.block, self.sep = block, sep[0]
        self.target, self.on_done = target, on_done
        self.gate = Gate()
        self.local = threading.local()
        self.buffers: list[_Buffers] = []
        self.lock = threading.Lock()
        self.inflight: collections.deque[tuple[Future, Bucket]] = collections.deque()
        self.pool = (ThreadPoolExecutor(self.workers, thread_name_prefix="kexue-shuffle")
                     if self.workers > 1 else None)

    def _mine(self) -> _Buffers:
        bufs = getattr(self.local, "buffers", None)
        if bufs is None:
            bufs = self.local.buffers = _Buffers(self.slot, self.block)
            with self.lock:
                self.buffers.append(bufs)
        return bufs

    def _run(self, ticket: int, bucket: Bucket, rng: np.random.Generator, out: Output,
             bufs: _Buffers) -> None:
        try:
            data, ends = bufs.load(bucket, self.sep)
        except BaseException:
            self.gate.fail()
            raise
        self.gate.done(ticket)
        self.gate.wait(ticket)
        emit(data, ends, rng, out, bufs.block)

    def submit(self, bucket: Bucket, rng: np.random.Generator, offset: int,
               out: Output | None = None) -> None:
        """Shuffle ``bucket`` (fits in ``slot``) and write it at ``offset`` of the target, or
        to ``out`` (on this thread)."""
        ticket = self.gate.ticket()
        if out is None:
            out = OffsetOutput(self.target[0], offset, self.target[1])  # type: ignore[index]
        if self.pool is None:
            self._run(ticket, bucket, rng, out, self._mine())
            self.on_done(bucket)
            return
        while len(self.inflight) >= self.workers:
            self._reap()
        fut = self.pool.submit(lambda: self._run(ticket, bucket, rng, out, self._mine()))
        self.inflight.append((fut, bucket))

    def emit_alone(self, bucket: Bucket, rng: np.random.Generator, offset: int,
                   out: Output | None = None) -> None:
        """A bucket larger than ``slot``: wait for the threads, free their buffers, and shuffle
        it here with buffers of its own size."""
        self.drain()
        for bufs in self.buffers:
            bufs.trim()
        if out is None:
            out = OffsetOutput(self.target[0], offset, self.target[1])  # type: ignore[index]
        bufs = _Buffers(bucket.nbytes, self.block)
        try:
            self._run(self.gate.ticket(), bucket, rng, out, bufs)
        finally:
            bufs.close()
        self.on_done(bucket)

    def copy_line(self, bucket: Bucket, write: Callable[[memoryview, bool, bool], None]) -> None:
        """A single line larger than the memory budget: copied piece by piece (front to back,
        which is safe when the output overlaps its own region: it starts at or before it)."""
        self.drain()
        ticket = self.gate.ticket()
        self.gate.wait(ticket)
        buf = anonymous(self.block)
        view = memoryview(buf)
        try:
            first = True
            left = bucket.nbytes
            for fd, offset, length in bucket.extents:
                done = 0
                while done < length:
                    n = min(len(view), length - done)
                    pread_into(fd, view[:n], offset + done)
                    done += n
                    left -= n
                    write(view[:n], first, left == 0)
                    first = False
        finally:
            view.release()
            buf.close()
        self.gate.done(ticket)
        self.on_done(bucket)

    def ticket(self) -> int:
        """A ticket for a bucket read on this thread (a bucket scattered again)."""
        return self.gate.ticket()

    def _reap(self) -> None:
        fut, bucket = self.inflight.popleft()
        fut.result()
        self.on_done(bucket)

    def drain(self) -> None:
        """Wait for every bucket in flight."""
        while self.inflight:
            self._reap()

    def close(self) -> None:
        """Stop the threads (queued buckets are dropped) and free the buffers."""
        if self.pool is not None:
            self.gate.fail()  # nobody waits for buckets that will not come
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        for bufs in self.buffers:
            bufs.close()
        self.buffers = []
