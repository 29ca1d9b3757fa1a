"""Phase 1: send every line, independently and uniformly at random, to one of ``k`` buckets.

NumPy draws one label per line from the node's own PCG64 stream and orders the lines by label
with a stable sort (so each bucket keeps input order); the compiled core copies them into a
staging buffer in that order, and each bucket's run of bytes is appended to its bucket with
one write. With ``threaded``, the writes run on a background thread (two staging buffers take
turns), so labelling and copying the next lines overlaps the kernel's copy of the previous
ones. One writer is enough: the kernel serialises writes to one file anyway.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable

import numpy as np

from kexue.data.shuffle.fileio import anonymous
from kexue.data.shuffle.lines import gather
from kexue.data.shuffle.reader import Block
from kexue.data.shuffle.store import Store

__all__ = ["scatter"]

#: One staged run: the staging buffer and ``(bucket, bytes, lines)`` for its consecutive pieces.
_Run = tuple[memoryview, list[tuple[int, int, int]]]


class _Writer:
    """Appends staged runs to the store, in order, on a background thread (or inline)."""

    def __init__(self, store: Store, size: int, threaded: bool):
        self.store = store
        self.buffers = [anonymous(size) for _ in range(2 if threaded else 1)]
        self.free: queue.Queue[memoryview] = queue.Queue()
        for b in self.buffers:
            self.free.put(memoryview(b))
        self.todo: queue.Queue[_Run | None] = queue.Queue()
        self.error: BaseException | None = None
        self.abandon = False
        self.thread: threading.Thread | None = None
        if threaded:
            self.thread = threading.Thread(target=self._loop, name="kexue-shuffle-writer",
                                           daemon=True)
            self.thread.start()

    def _write(self, run: _Run) -> None:
        stage, pieces = run
        pos = 0
        for b, size, count in pieces:
            self.store.write(b, stage[pos : pos + size], count)
            pos += size

    def _loop(self) -> None:
        while True:
            run = self.todo.get()
            if run is None:
                return
            try:
                if self.error is None and not self.abandon:
                    self._write(run)
            except BaseException as e:  # handed to the caller at its next call
                self.error = e
            self.free.put(run[0])

    def stage(self) -> memoryview:
        """A free staging buffer (waits for the thread to finish with one)."""
        stage = self.free.get()
        self.check()
        return stage

    def submit(self, run: _Run) -> None:
        if self.thread is None:
            self._write(run)
            self.free.put(run[0])
        else:
            self.todo.put(run)

    def flush(self) -> None:
        """Wait until every submitted run is written."""
        held = [self.stage() for _ in self.buffers]
        for stage in held:
            self.free.put(stage)

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self, abandon: bool = False) -> None:
        """Finish (or with ``abandon``, drop) the queued runs, stop the thread, free memory."""
        self.abandon = self.abandon or abandon
        if self.thread is not None:
            self.todo.put(None)
            self.thread.join()
            self.thread = None
        for b in self.buffers:
            try:
                b.close()
            except BufferError:  # a view is still alive: freed with it
                pass
        if not abandon:
            self.check()


def scatter(blocks: Iterable[Block], store: Store, rng: np.random.Generator, chunk: int,
            threaded: bool, on_block: Callable[[int], None] | None = None) -> None:
    """Scatter the lines of ``blocks`` into the buckets of ``store``.

    A block is handled in runs of lines of at most ``chunk`` bytes (the staging buffer size; a
    single longer line is written straight from the block). The runs depend only on the data,
    so the labels drawn (and the output) never depend on threads.
    """
    k = store.k
    writer = _Writer(store, chunk, threaded)
    try:
        for block in blocks:
            ends, data = block.ends, block.data
            i, n = 0, len(ends)
            while i < n:
                base = int(ends[i - 1]) if i else 0
                j = int(np.searchsorted(ends, base + chunk, side="right"))
                if j == i:  # one line longer than the staging buffer
                    label = int(rng.integers(0, k))
                    writer.flush()
                    store.write(label, data[base : int(ends[i])], 1)
                    i += 1
                    continue
                labels = rng.integers(0, k, size=j - i, dtype=np.uint16)
                order = np.argsort(labels, kind="stable").astype(np.int64)
                order += i
                sizes = np.diff(ends[i:j], prepend=base)
                counts = np.bincount(labels, minlength=k)
                nbytes = np.bincount(labels, weights=sizes, minlength=k).astype(np.int64)
                stage = writer.stage()
                copied, total = gather(data, ends, order, stage)
                assert copied == j - i and total == int(ends[j - 1]) - base
                pieces = [(b, int(nbytes[b]), int(counts[b]))
                          for b in np.flatnonzero(counts).tolist()]
                writer.submit((stage, pieces))
                i = j
            if on_block is not None:
                on_block(len(data))
    except BaseException:
        writer.close(abandon=True)
        raise
    writer.close()
