"""Where the scatter pass puts its buckets: regions of one file, and an overflow file.

A :class:`Store` keeps ``k`` buckets. Bucket ``b`` fills region ``[b * cap, (b + 1) * cap)`` of
one file first, and what does not fit goes to an append-only overflow file (with ``cap = 0``
everything does: one temporary file for all buckets, written sequentially). The root scatter
of a run whose output is one file uses the output's own temporary file for the regions, with
``cap`` a little above the expected bucket size: the second pass then reads each bucket and
writes its shuffled lines back into the same file, at the bucket's final offset, which lies at
or before the bucket's region (see :meth:`Store.in_place`), so no bucket data is copied to a
separate temporary file and back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kexue.data.shuffle import fileio
from kexue.data.shuffle.lines import LINE_OVERHEAD

__all__ = ["Bucket", "Store"]


@dataclass
class Bucket:
    """Lines of one bucket: ``(fd, offset, length)`` pieces, in input order."""

    extents: list[tuple[int, int, int]] = field(default_factory=list)
    nbytes: int = 0
    nlines: int = 0
    store: Store | None = None

    def cost(self) -> int:
        """Memory needed to hold and permute the bucket."""
        return self.nbytes + LINE_OVERHEAD * self.nlines

    def done(self) -> None:
        """The bucket has been emitted or split: its store may drop its overflow file."""
        if self.store is not None:
            self.store.release()
            self.store = None


class Store:
    """``k`` buckets in regions of ``cap`` bytes of ``region`` (an open fd and its name) plus an
    overflow file created by ``spill()`` on first need (returns an fd and a name) and given to
    ``drop`` once every bucket is done.

    Once a bucket has spilled, all its later bytes spill too, so a bucket always reads back in
    the order it was written. (Writes are cheapest from one thread: the kernel serialises
    writes to one file.)
    """

    def __init__(self, k: int, cap: int, region: tuple[int, str] | None,
                 spill: Callable[[], tuple[int, str]], drop: Callable[[str], None]):
        self.k = k
        self.cap = cap if region is not None else 0
        self.region = region
        self.spill, self.drop = spill, drop
        self.used = [0] * k
        self.buckets = [Bucket(store=self) for _ in range(k)]
        self.spill_fd = -1
        self.spill_name = ""
        self.spill_end = 0
        self.overflow: list[list[tuple[int, int]]] = [[] for _ in range(k)]
        self.spilled = [False] * k
        self.pending = k

    def _reserve(self, b: int, nbytes: int) -> int:
        """Room for ``nbytes`` of bucket ``b`` at the end of the overflow file: its offset."""
        if self.spill_fd < 0:
            self.spill_fd, self.spill_name = self.spill()
        offset = self.spill_end
        self.spill_end += nbytes
        self.spilled[b] = True
        pieces = self.overflow[b]
        if pieces and pieces[-1][0] + pieces[-1][1] == offset:
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + nbytes)
        else:
            pieces.append((offset, nbytes))
        return offset

    def write(self, b: int, data: memoryview, nlines: int) -> None:
        """Append ``nlines`` whole lines (``data``) to bucket ``b``."""
        bucket = self.buckets[b]
        bucket.nbytes += len(data)
        bucket.nlines += nlines
        room = 0 if self.spilled[b] else self.cap - self.used[b]
        if room > 0:
            part = min(room, len(data))
            fd, name = self.region  # type: ignore[misc]
            fileio.pwrite_all(fd, data[:part], b * self.cap + self.used[b], name)
            self.used[b] += part
            data = data[part:]
        if len(data):
            offset = self._reserve(b, len(data))
            fileio.pwrite_all(self.spill_fd, data, offset, self.spill_name)

    def close(self) -> list[Bucket]:
        """The buckets, with their pieces: region first, then the overflow in order."""
        for b, bucket in enumerate(self.buckets):
            if self.used[b]:
                bucket.extents.append((self.region[0], b * self.cap, self.used[b]))  # type: ignore[index]
            bucket.extents.extend((self.spill_fd, off, n) for off, n in self.overflow[b])
        return self.buckets

    def in_place(self) -> bool:
        """Whether each bucket's output range ends before the next region begins, so that
        writing bucket ``b`` at its final offset only overwrites regions ``<= b`` (already
        read, when buckets are read in order)."""
        end = 0
        for b, bucket in enumerate(self.buckets):
            end += bucket.nbytes
            if end > (b + 1) * self.cap:
                return False
        return self.region is not None

    def release(self) -> None:
        self.pending -= 1
        if self.pending == 0 and self.spill_fd >= 0:
            self.drop(self.spill_name)
            self.spill_fd = -1
