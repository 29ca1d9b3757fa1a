"""Exact uniform line shuffle of files far larger than memory (Rao/Sandelius scatter).

Article: 有限内存下全局打乱几百G文件（Python）, https://kexue.fm/archives/8662 (Su Jianlin, 2021).
The article's own two-phase method (cut the corpus into ``m`` consecutive chunks, shuffle each,
then emit one line of every chunk per round in a fresh random order) is **not** a uniform
permutation, as the article says: it reaches only ``(m!)^n (n!)^m`` of the ``(mn)!`` orders.
This module uses the two-pass scatter of C. R. Rao (Sankhya 1961) and Sandelius (1962), also
described by Jane Street ("How to shuffle a big dataset", 2018) and by Lemire (2010):

1. **Scatter.** Send every line, independently and uniformly at random, to one of ``k``
   bucket files (lines keep their input order inside a bucket).
2. **Shuffle.** Visit the buckets in order 0..k-1. A bucket that fits the memory budget is read
   into memory, permuted with an unbiased Fisher-Yates shuffle and appended to the output; a
   bucket that does not fit is scattered again (step 1) into sub-buckets with fresh randomness
   and handled recursively, in place of the bucket.

**Why every permutation is equally likely.** Let the input have ``n`` lines and fix an output
order ``sigma``. For a vector of bucket sizes ``(n_1, ..., n_k)`` summing to ``n``, the output
equals ``sigma`` exactly when (a) every line whose ``sigma``-position lies in the ``b``-th block
of ``n_b`` consecutive positions was sent to bucket ``b`` -- one labelling, probability
``k^-n`` -- and (b) each bucket's permutation puts its lines in the ``sigma`` order -- one
permutation of each bucket, probability ``prod_b 1/n_b!`` given the labels. Summing over size
vectors, ``P(sigma) = sum_{n_1+..+n_k=n} k^-n prod_b 1/n_b!``, which does not depend on
``sigma``: the output is uniform. The argument only needs each bucket to be shuffled
*uniformly given its contents*, independently of the labels; a bucket that is scattered again
is shuffled uniformly by induction on the recursion (the choice "in memory or recurse" depends
only on the bucket's contents, never on its order, and terminates with probability one because
a bucket of ``m >= 2`` lines stays whole with probability ``k^(1-m) <= 1/2``). So the result is
exactly uniform for any memory budget, fan-out and number of temporary files -- unlike the
article's method. (As for every seeded shuffle, the randomness comes from a PRNG, PCG64 here;
"exact" is about the algorithm given ideal random bits.)

Cost: every byte is read and written twice (as in the article and terashuf) when the buckets
fit, plus one more pass over a bucket that has to be split again. At most ``max_open_files``
bucket files are open at once. Peak memory is the budget plus a fixed overhead (the Python
interpreter and NumPy, I/O chunks and queues of at most 4 MiB each, and the private pages of
the forked worker processes, a few MiB each), with one caveat: a single line is always held
whole in memory. Disk reads and writes run on two background threads, and buckets are
shuffled by ``workers`` processes that write at their own offsets of the output; neither
changes a single output byte.

Lines are bytes separated by ``separator`` (``\\n``; ``\\0`` with ``-z``): any encoding, CRLF
(the ``\\r`` stays part of the line), empty lines. A last line without a separator gets one,
so multiple inputs mix as one corpus and no two lines are glued together.
"""

from __future__ import annotations

import collections
import errno
import math
import multiprocessing
import os
import queue
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO

import numpy as np

from kexue.data.sizes import parse_size

__all__ = ["shuffle_files", "ShuffleReport", "LINE_OVERHEAD", "MAX_OPEN_FILES"]

#: Bytes of Python bookkeeping per line held in memory: a bytes object header (33) and its
#: allocator rounding, a list slot, an object-array slot and a permutation index (8 each).
#: The memory cost of a set of lines is ``bytes + LINE_OVERHEAD * lines``.
LINE_OVERHEAD = 80
#: Default maximum number of bucket files open at once (the scatter fan-out).
MAX_OPEN_FILES = 256
#: Target mean bucket cost as a fraction of the budget (leaves room for the random spread).
_FILL = 0.25
_MAX_CHUNK = 4 << 20
_MIN_CHUNK = 64 << 10
_OUT_BLOCK = 1 << 20
_ASYNC_MIN = 64 << 10
_MAX_DEPTH = 200
_PARALLEL_MIN = 16 << 20

PathLike = str | os.PathLike


@dataclass(frozen=True)
class ShuffleReport:
    """What :func:`shuffle_files` did.

    ``lines``/``bytes`` count the output (a final line without a separator counts one more
    byte); ``external`` is False when everything was shuffled in memory; ``passes`` is the
    deepest scatter level (1 = one scatter pass, 0 = in memory); ``temp_files`` is the number of
    bucket files created; ``outputs`` lists the files written (empty for stdout).
    """

    lines: int
    bytes: int
    external: bool
    passes: int
    temp_files: int
    outputs: tuple[str, ...]


# --------------------------------------------------------------------------- inputs


class _Source:
    def __init__(self, spec: PathLike | BinaryIO):
        self.spec = spec
        if spec == "-":
            self.name = "<stdin>"
            self.size: int | None = None
        elif hasattr(spec, "read"):
            self.name = getattr(spec, "name", "<stream>")
            self.size = None
        else:
            path = os.fspath(spec)
            self.name = path
            try:
                st = os.stat(path)
            except OSError as e:
                raise OSError(e.errno, f"cannot read input {path!r}: {e.strerror}") from None
            if os.path.isdir(path):
                raise IsADirectoryError(errno.EISDIR, f"input {path!r} is a directory")
            try:  # fail before any work if it cannot be opened
                open(path, "rb").close()
            except OSError as e:
                raise OSError(e.errno, f"cannot read input {path!r}: {e.strerror}") from None
            self.size = st.st_size if os.path.isfile(path) else None

    def open(self) -> BinaryIO:
        if self.spec == "-":
            return _NoClose(sys.stdin.buffer)
        if hasattr(self.spec, "read"):
            return _NoClose(self.spec)
        return open(os.fspath(self.spec), "rb")


class _NoClose:
    """Context manager around a stream we must not close (stdin, a caller's file)."""

    def __init__(self, f: BinaryIO):
        self.f = f

    def read(self, n: int) -> bytes:
        return self.f.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _ReadAhead:
    """The blocks of a sequence of files, in order, as ``(file index, data)`` with
    ``data == b""`` at the end of each file. With ``threaded``, a background thread reads ahead
    (file reads release the GIL, so the disk copy overlaps the main thread's Python work),
    holding at most ``depth`` blocks in its queue."""

    def __init__(self, openers: Sequence[Callable[[], BinaryIO]], names: Sequence[str],
                 chunk: int, threaded: bool, depth: int = 1):
        self.openers, self.names, self.chunk = openers, names, chunk
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        if threaded:
            self.q: queue.Queue = queue.Queue(maxsize=depth)
            self.thread = threading.Thread(target=self._run, name="kexue-shuffle-reader",
                                           daemon=True)
            self.thread.start()

    def _blocks(self) -> Iterator[tuple[int, bytes, BaseException | None]]:
        for i, opener in enumerate(self.openers):
            try:
                with opener() as f:
                    while True:
                        data = f.read(self.chunk)
                        yield i, data, None
                        if not data:
                            break
            except OSError as e:
                yield i, b"", e
                return

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.q.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def _run(self) -> None:
        try:
            for item in self._blocks():
                if not self._put(item) or item[2] is not None:
                    return
        except BaseException as e:  # anything else: hand it over too, never leave get() hanging
            self._put((0, b"", e))
            return
        self._put(None)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        items = self._blocks() if self.thread is None else iter(self.q.get, None)
        for i, data, err in items:
            if err is not None:
                if not isinstance(err, OSError) or err.errno == errno.ENOSPC:
                    raise err
                raise OSError(err.errno, f"cannot read {self.names[i]}: {err.strerror or err}")
            yield i, data

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
            self.thread = None


def _split_lines(
    blocks: Iterator[tuple[int, bytes]], sep: bytes, on_bytes: Callable[[int], None]
) -> Iterator[tuple[list[bytes], int]]:
    """Yield ``(lines, nbytes)``: lists of complete lines (without separators) in input order.

    ``nbytes`` is the size of those lines with one separator each. A file's last line without a
    separator is yielded as a line of its own (it will get a separator on output).
    """
    parts: list[bytes] = []  # pieces of a line that spans blocks
    for _, data in blocks:
        if not data:  # end of a file
            if parts:
                last = b"".join(parts)
                parts = []
                yield [last], len(last) + 1
            continue
        on_bytes(len(data))
        lines = data.split(sep)
        if len(lines) == 1:
            parts.append(data)
            continue
        nbytes = len(data) - len(lines[-1])
        if parts:
            nbytes += sum(map(len, parts))
            parts.append(lines[0])
            lines[0] = b"".join(parts)
            parts = []
        tail = lines.pop()
        if tail:
            parts.append(tail)
        yield lines, nbytes


def _no_progress(n: int) -> None:
    pass


# --------------------------------------------------------------------------- outputs


def _open_write(path: str, exclusive: bool = False) -> BinaryIO:
    """Open a file for writing: every output and temporary file goes through here."""
    return open(path, "xb" if exclusive else "wb")


def _create_temp_beside(path: str) -> tuple[str, BinaryIO]:
    directory, base = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"output directory {directory!r} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"output {path!r} is a directory")
    for _ in range(100):
        tmp = os.path.join(directory, f".{base}.{os.urandom(4).hex()}.kexue-tmp")
        try:
            f = _open_write(tmp, exclusive=True)
        except FileExistsError:
            continue
        except OSError as e:
            raise OSError(e.errno, f"cannot write output {path!r}: {e.strerror}") from None
        return tmp, f
    raise FileExistsError(errno.EEXIST, f"cannot create a temporary file beside {path!r}")


class _Sink:
    """Where shuffled lines go: one file (atomic rename), stdout, or numbered shards."""

    def __init__(
        self,
        output: PathLike | BinaryIO,
        sep: bytes,
        shard_lines: int | None,
        shard_bytes: int | None,
        on_bytes: Callable[[int], None],
        writer: _Writer,
        fsync: bool = False,
    ):
        self.sep = sep
        self.writer = writer
        self.fsync = fsync
        self.shard_lines = shard_lines
        self.shard_bytes = shard_bytes
        self.on_bytes = on_bytes
        self.lines = 0
        self.bytes = 0
        self.temps: list[tuple[str, str]] = []  # (temporary name, final name)
        self.f: BinaryIO | None = None
        self.stream: BinaryIO | None = None
        self.sharded = shard_lines is not None or shard_bytes is not None
        self.in_shard_lines = 0
        self.in_shard_bytes = 0
        if self.sharded:
            if output == "-" or hasattr(output, "write"):
                raise ValueError("sharded output needs a file name template, not a stream")
            self.template = os.fspath(output)
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
            self._new_shard()
        elif output == "-":
            self.stream = sys.stdout.buffer
        elif hasattr(output, "write"):
            self.stream = output  # type: ignore[assignment]
        else:
            tmp, self.f = _create_temp_beside(os.fspath(output))
            self.temps.append((tmp, os.fspath(output)))

    def _new_shard(self) -> None:
        if self.f is not None:
            self.writer.drain()
            self.f.flush()
            if self.fsync:
                os.fsync(self.f.fileno())
            self.f.close()
        final = self.template.format(i=len(self.temps))
        tmp, self.f = _create_temp_beside(final)
        self.temps.append((tmp, final))
        self.in_shard_lines = 0
        self.in_shard_bytes = 0

    def _write(self, data: bytes) -> None:
        self.writer.write(self.f if self.f is not None else self.stream, data)
        self.on_bytes(len(data))

    def write_lines(self, lines: list[bytes]) -> None:
        """Write lines (without separators); each gets one separator."""
        if not lines:
            return
        if not self.sharded:
            lines.append(b"")
            data = self.sep.join(lines)
            self._write(data)
            self.lines += len(lines) - 1
            self.bytes += len(data)
            return
        while lines:
            take = self._room(lines)
            if take == 0:
                self._new_shard()
                continue
            part = lines[:take]
            lines = lines[take:]
            part.append(b"")
            data = self.sep.join(part)
            self._write(data)
            self.lines += take
            self.bytes += len(data)
            self.in_shard_lines += take
            self.in_shard_bytes += len(data)

    def _room(self, lines: list[bytes]) -> int:
        """How many of ``lines`` fit in the current shard (at least one in an empty shard)."""
        n = len(lines)
        if self.shard_lines is not None:
            n = min(n, self.shard_lines - self.in_shard_lines)
        if self.shard_bytes is not None and n > 0:
            sizes = np.fromiter(map(len, lines[:n]), dtype=np.int64, count=n) + 1
            room = self.shard_bytes - self.in_shard_bytes
            n = int(np.searchsorted(np.cumsum(sizes), room, side="right"))
        if n == 0 and self.in_shard_lines == 0:
            return 1  # a line longer than a whole shard gets a shard of its own
        return n

    def write_stream(self, f: BinaryIO, nbytes: int) -> None:
        """Copy one line (``nbytes`` including its separator) from ``f`` without loading it."""
        if self.sharded:
            full = (self.shard_lines is not None and self.in_shard_lines >= self.shard_lines) or (
                self.shard_bytes is not None
                and self.in_shard_lines > 0
                and self.in_shard_bytes + nbytes > self.shard_bytes
            )
            if full:
                self._new_shard()
        left = nbytes
        while left:
            data = f.read(min(left, _MAX_CHUNK))
            if not data:
                raise OSError(errno.EIO, "temporary bucket file was truncated")
            self._write(data)
            left -= len(data)
        self.lines += 1
        self.bytes += nbytes
        self.in_shard_lines += 1
        self.in_shard_bytes += nbytes

    def offset_path(self) -> str | None:
        """The temporary output file, when workers may write into it at offsets."""
        if self.sharded or self.stream is not None or self.bytes:
            return None
        return self.temps[0][0]

    def count(self, lines: int, nbytes: int) -> None:
        """Account for lines that workers wrote directly."""
        self.lines += lines
        self.bytes += nbytes
        self.on_bytes(nbytes)

    def commit(self) -> tuple[str, ...]:
        self.writer.drain()
        if self.f is not None:
            try:
                self.f.flush()
                if self.fsync:
                    os.fsync(self.f.fileno())
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    raise OSError(errno.ENOSPC, "no space left on device writing the output") from e
                raise
            self.f.close()
            self.f = None
        if self.stream is not None:
            self.stream.flush()
        if self.sharded and self.in_shard_lines == 0 and self.lines > 0:
            tmp, _ = self.temps.pop()  # a trailing empty shard
            os.remove(tmp)
        for tmp, final in self.temps:
            os.replace(tmp, final)
        done = tuple(final for _, final in self.temps)
        self.temps = []
        return done

    def abort(self) -> None:
        if self.f is not None:
            try:
                self.f.close()
            except OSError:
                pass
            self.f = None
        for tmp, _ in self.temps:
            try:
                os.remove(tmp)
            except OSError:
                pass
        self.temps = []


# --------------------------------------------------------------------------- the algorithm


@dataclass
class _Bucket:
    paths: list[str]
    nbytes: int = 0
    nlines: int = 0

    def cost(self) -> int:
        return self.nbytes + LINE_OVERHEAD * self.nlines


def _rng(entropy: int, key: tuple[int, ...]) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=key)))


def _fanout(cost: int, budget: int, max_open: int) -> int:
    return max(2, min(max_open, math.ceil(cost / max(1.0, budget * _FILL))))


def _named_error(e: BaseException, f) -> BaseException:
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        name = getattr(f, "name", None)
        where = f" writing {name!r}" if isinstance(name, str) else ""
        return OSError(errno.ENOSPC, f"no space left on device{where}")
    return e


class _Writer:
    """Writes ``(file, bytes)`` pairs on a background thread, so disk copies overlap the Python
    work of the main thread; holds at most ``limit`` bytes in its queue. Small writes made while
    the queue is empty go straight through (no thread hand-off). Writes to one file keep their
    order either way, so the output stays deterministic."""

    def __init__(self, limit: int, threaded: bool = True):
        self.q: queue.Queue = queue.Queue()
        self.limit = limit
        self.threaded = threaded
        self.pending = 0
        self.cv = threading.Condition()
        self.error: BaseException | None = None
        self.abandon = False
        self.thread: threading.Thread | None = None

    def _run(self) -> None:
        while True:
            item = self.q.get()
            if item is None:
                return
            f, data = item
            try:
                if self.error is None and not self.abandon:
                    f.write(data)
            except BaseException as e:  # handed to the main thread
                self.error = _named_error(e, f)
            with self.cv:
                self.pending -= len(data)
                self.cv.notify_all()

    def write(self, f: BinaryIO, data: bytes) -> None:
        self.check()
        with self.cv:
            if self.pending == 0 and (len(data) < _ASYNC_MIN or not self.threaded):
                try:
                    f.write(data)
                except OSError as e:
                    raise _named_error(e, f) from e
                return
            while self.pending > 0 and self.pending + len(data) > self.limit:
                self.cv.wait()
            self.pending += len(data)
        if self.thread is None:
            self.thread = threading.Thread(
                target=self._run, name="kexue-shuffle-writer", daemon=True
            )
            self.thread.start()
        self.q.put((f, data))

    def drain(self) -> None:
        with self.cv:
            while self.pending > 0:
                self.cv.wait()
        self.check()

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self, abandon: bool = False) -> None:
        """Stop the thread; with ``abandon``, queued writes are dropped (after an error)."""
        self.abandon = self.abandon or abandon
        if self.thread is not None:
            self.q.put(None)
            self.thread.join()
            self.thread = None


class _Scatter:
    """Send lines to ``k`` bucket files uniformly at random (one label per line)."""

    def __init__(self, st: _State, prefix: str, k: int, rng: np.random.Generator):
        self.st, self.k, self.rng, self.sep = st, k, rng, st.sep
        self.writer = st.writer
        self.files: list[BinaryIO | None] = [None] * k
        self.buckets = [_Bucket([f"{prefix}.{b}"]) for b in range(k)]
        self.created = 0
        st.scatters.append(self)

    def add(self, lines: list[bytes]) -> None:
        n = len(lines)
        labels = self.rng.integers(0, self.k, size=n, dtype=np.uint16)
        counts = np.bincount(labels, minlength=self.k)
        order = np.argsort(labels, kind="stable")
        arr = np.empty(n, dtype=object)
        arr[:] = lines
        arr = arr[order]
        ends = np.cumsum(counts)
        for b in np.flatnonzero(counts).tolist():
            end = int(ends[b])
            start = end - int(counts[b])
            part = arr[start:end].tolist()
            part.append(b"")
            data = self.sep.join(part)
            f = self.files[b]
            if f is None:
                path = self.buckets[b].paths[0]
                self.st.temp_paths.add(path)
                f = self.files[b] = _open_write(path)
                self.created += 1
            self.writer.write(f, data)
            self.buckets[b].nbytes += len(data)
            self.buckets[b].nlines += end - start

    def close(self) -> list[_Bucket]:
        self.writer.drain()
        self.close_files()
        self.st.scatters.remove(self)
        self.st.temp_files += self.created
        return self.buckets

    def close_files(self) -> None:
        for f in self.files:
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass
        self.files = [None] * self.k


def _emit_in_memory(
    chunks: list[list[bytes]], n: int, nbytes: int, rng: np.random.Generator, sink: _Sink
) -> None:
    """Uniformly permute the lines of ``chunks`` (``n`` lines) and write them to ``sink``.

    Consumes ``chunks``. Fisher-Yates via ``Generator.permutation`` (unbiased bounded draws).
    """
    arr = np.empty(n, dtype=object)
    i = 0
    chunks.reverse()
    while chunks:  # free each chunk's list as soon as it is copied
        lines = chunks.pop()
        arr[i : i + len(lines)] = lines
        i += len(lines)
    lines = None
    perm = rng.permutation(n)
    block = max(1, int(_OUT_BLOCK * n / max(1, nbytes)))
    for j in range(0, n, block):
        sink.write_lines(arr[perm[j : j + block]].tolist())


# --------------------------------------------------------------------------- worker processes


class _OffsetWriter:
    """A sink for a worker process: writes lines at a fixed offset of the output (pwrite)."""

    def __init__(self, fd: int, offset: int, sep: bytes, name: str):
        self.fd, self.offset, self.sep, self.name = fd, offset, sep, name

    def write_lines(self, lines: list[bytes]) -> None:
        lines.append(b"")
        self.write(self.sep.join(lines))

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.pwrite(self.fd, view, self.offset)
            except OSError as e:
                raise _named_error(e, self) from e
            self.offset += written
            view = view[written:]


def _worker_init() -> None:
    # Only the parent reacts to Ctrl-C / SIGTERM; it lets running buckets finish, then cleans up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _bucket_task(paths, nlines, nbytes, entropy, key, sep, chunk, out_path, offset) -> None:
    """Shuffle one bucket in memory and write it at ``offset`` of ``out_path`` (a worker)."""
    reader = _ReadAhead([partial(open, p, "rb") for p in paths], ["a temporary file"] * len(paths),
                        chunk, threaded=False)
    parts = [lines for lines, _ in _split_lines(iter(reader), sep, _no_progress)]
    fd = os.open(out_path, os.O_WRONLY)
    try:
        out = _OffsetWriter(fd, offset, sep, out_path)
        _emit_in_memory(parts, nlines, nbytes, _rng(entropy, key + (1,)), out)
    finally:
        os.close(fd)


class _Parallel:
    """Phase 2 on worker processes: each bucket is shuffled by a worker and written at its own
    offset of the output file (bucket sizes are known after the scatter), so the output is the
    same bytes as the sequential path. Buckets in flight never cost more than the budget."""

    def __init__(self, st: _State, sink: _Sink, path: str):
        self.st, self.sink, self.path = st, sink, path
        self.pool = st.pool()
        self.inflight: collections.deque = collections.deque()
        self.cost = 0
        self.offset = 0

    def submit(self, bucket: _Bucket, key: tuple[int, ...]) -> None:
        cost = bucket.cost()
        while self.inflight and (
            self.cost + cost > self.st.budget or len(self.inflight) >= self.st.workers
        ):
            self.reap()
        st = self.st
        fut = self.pool.submit(_bucket_task, bucket.paths, bucket.nlines, bucket.nbytes,
                               st.entropy, key, st.sep, st.chunk, self.path, self.offset)
        self.inflight.append((fut, cost, bucket))
        self.cost += cost
        self.offset += bucket.nbytes

    def copy_line(self, bucket: _Bucket) -> None:
        """A single line larger than the budget: copied by the parent, chunk by chunk."""
        fd = os.open(self.path, os.O_WRONLY)
        try:
            out = _OffsetWriter(fd, self.offset, self.st.sep, self.path)
            with open(bucket.paths[0], "rb") as f:
                while data := f.read(self.st.chunk):
                    out.write(data)
        finally:
            os.close(fd)
        self.offset += bucket.nbytes
        self.sink.count(bucket.nlines, bucket.nbytes)
        self.st.remove(bucket.paths)

    def reap(self) -> None:
        fut, cost, bucket = self.inflight.popleft()
        try:
            fut.result()
        except BrokenProcessPool:
            raise OSError(
                errno.ECHILD, "a shuffle worker process died (killed, or out of memory)"
            ) from None
        self.cost -= cost
        self.sink.count(bucket.nlines, bucket.nbytes)
        self.st.remove(bucket.paths)

    def finish(self) -> None:
        while self.inflight:
            self.reap()


def shuffle_files(
    inputs: Sequence[PathLike | BinaryIO] | PathLike,
    output: PathLike | BinaryIO,
    memory: int | str = "1G",
    seed: int | None = None,
    tmpdir: PathLike | None = None,
    *,
    shard_lines: int | None = None,
    shard_bytes: int | str | None = None,
    separator: bytes = b"\n",
    max_open_files: int = MAX_OPEN_FILES,
    fsync: bool = False,
    threads: bool = True,
    workers: int = 2,
    progress: bool = False,
) -> ShuffleReport:
    """Write the lines of ``inputs`` to ``output`` in a uniformly random order.

    Every permutation of the input lines is equally likely whatever ``memory`` is (see the
    module docstring for the method and the proof); the same ``seed`` and ``memory`` give the
    same output. Article: https://kexue.fm/archives/8662.

    Args:
        inputs: file paths, ``"-"`` for stdin, or binary streams; read in order and mixed as
            one corpus. A single path is accepted too.
        output: a path (written to a temporary name beside it and renamed at the end, so it may
            equal an input), ``"-"`` for stdout (streamed), or a binary stream. With sharding it
            is a name template: ``{i}`` (e.g. ``part-{i:05d}.txt``) is replaced by the shard
            number, and a name without ``{`` gets ``-{i:05d}`` appended.
        memory: the memory budget, bytes or a size string (``"512K"``, ``"256M"``, ``"4G"``).
            Input that fits (``bytes + LINE_OVERHEAD * lines``) is shuffled in memory.
        seed: a non-negative int for a reproducible order, ``None`` for fresh entropy.
        tmpdir: where bucket files go (default: the system temporary directory). They take
            about the input size and are removed on success, error and Ctrl-C.
        shard_lines, shard_bytes: split the output into numbered shards of at most this many
            lines / bytes (lines are never split; a longer line gets a shard of its own).
        separator: the one-byte line separator (``b"\\0"`` for ``-z``).
        max_open_files: the most bucket files open at once (>= 2).
        fsync: flush output files to the disk before the rename (durable against power loss;
            slower). Without it the rename is still atomic for other processes, as with cp.
        threads: overlap disk reads and writes with the shuffling on two background threads
            (the output does not depend on it).
        workers: processes that shuffle buckets in parallel when the output is one file and the
            external path runs on at least 16 MiB (1 = all in this process). The buckets in
            flight together stay within ``memory``; the output does not depend on it.
        progress: show a tqdm progress bar (bytes read and written) on stderr.

    Raises:
        ValueError / TypeError: bad arguments. ``OSError`` with a clear message for unreadable
        inputs, an unwritable output, or a full disk; no partial output is left behind.
    """
    budget = parse_size(memory)
    if budget < 1:
        raise ValueError("memory must be at least 1 byte")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
    if not isinstance(separator, bytes) or len(separator) != 1:
        raise ValueError(f"separator must be a single byte, got {separator!r}")
    if shard_lines is not None and shard_bytes is not None:
        raise ValueError("give at most one of shard_lines and shard_bytes")
    if shard_lines is not None and (
        isinstance(shard_lines, bool) or not isinstance(shard_lines, int) or shard_lines < 1
    ):
        raise ValueError(f"shard_lines must be a positive int, got {shard_lines!r}")
    if shard_bytes is not None:
        shard_bytes = parse_size(shard_bytes)
        if shard_bytes < 1:
            raise ValueError("shard_bytes must be positive")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    if "fork" not in multiprocessing.get_all_start_methods():
        workers = 1
    if isinstance(max_open_files, bool) or not isinstance(max_open_files, int):
        raise TypeError("max_open_files must be an int")
    if not 2 <= max_open_files <= 65535:
        raise ValueError(f"max_open_files must be in [2, 65535], got {max_open_files}")
    if isinstance(inputs, str | os.PathLike) or hasattr(inputs, "read"):
        inputs = [inputs]  # type: ignore[list-item]
    inputs = list(inputs)  # type: ignore[arg-type]
    if not inputs:
        raise ValueError("no inputs given")
    if sum(1 for x in inputs if x == "-") > 1:
        raise ValueError("stdin ('-') can be given only once")
    if tmpdir is not None and not os.path.isdir(tmpdir):
        raise FileNotFoundError(
            errno.ENOENT, f"temporary directory {os.fspath(tmpdir)!r} does not exist"
        )

    sources = [_Source(x) for x in inputs]
    entropy = seed if seed is not None else np.random.SeedSequence().entropy
    chunk = min(_MAX_CHUNK, max(_MIN_CHUNK, budget // 16))
    known = [s.size for s in sources]
    total = sum(known) if all(x is not None for x in known) else None  # type: ignore[misc]

    bar = _progress_bar(progress, total)
    state = _State(budget, separator, chunk, entropy, max_open_files, tmpdir, threads, workers)
    try:
        sink = _Sink(output, separator, shard_lines, shard_bytes, bar.update_write, state.writer,
                     fsync=fsync)
    except BaseException:
        bar.close()
        raise
    try:
        _run(sources, total, sink, state, bar.update_read)
        outputs = sink.commit()
    except BaseException as e:
        state.cleanup(abandon=True)
        sink.abort()
        if isinstance(e, OSError) and e.errno == errno.ENOSPC and "no space" not in str(e):
            where = state.tmpdir
            raise OSError(
                errno.ENOSPC, f"no space left on device (temporary files in {where!r})"
            ) from e
        raise
    finally:
        state.cleanup()
        bar.close()
    return ShuffleReport(
        lines=sink.lines,
        bytes=sink.bytes,
        external=state.passes > 0,
        passes=state.passes,
        temp_files=state.temp_files,
        outputs=outputs,
    )


class _State:
    """Settings and the temporary files of one run (removed by ``cleanup`` whatever happens)."""

    def __init__(self, budget, sep, chunk, entropy, max_open, tmpdir, threads, workers):
        self.budget, self.sep, self.chunk = budget, sep, chunk
        self.entropy, self.max_open = entropy, max_open
        self.tmpdir = os.fspath(tmpdir) if tmpdir is not None else tempfile.gettempdir()
        tag = f"kexue-shuffle-{os.getpid()}-{os.urandom(4).hex()}"
        self.prefix = os.path.join(self.tmpdir, tag)
        self.threads = threads
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None
        self.writer = _Writer(limit=chunk, threaded=threads)
        self.scatters: list[_Scatter] = []
        self.readers: list[_ReadAhead] = []
        self.temp_paths: set[str] = set()
        self.passes = 0
        self.temp_files = 0

    def scatter(self, key: tuple[int, ...], k: int) -> _Scatter:
        tag = "-".join(map(str, key)) if key else "root"
        self.passes = max(self.passes, len(key) + 1)
        if len(key) >= _MAX_DEPTH:
            raise RuntimeError("shuffle recursion too deep (this should never happen)")
        return _Scatter(self, f"{self.prefix}.{tag}", k, _rng(self.entropy, key + (0,)))

    def remove(self, paths: Sequence[str]) -> None:
        for p in paths:
            if p in self.temp_paths:
                self.temp_paths.discard(p)
                try:
                    os.remove(p)
                except FileNotFoundError:
                    pass

    def reader(self, openers, names, nbytes: int | None) -> _ReadAhead:
        threaded = self.threads and (nbytes is None or nbytes > 2 * self.chunk)
        r = _ReadAhead(openers, names, self.chunk, threaded)
        self.readers.append(r)
        return r

    def bucket_lines(self, bucket: _Bucket) -> Iterator[list[bytes]]:
        r = self.reader([partial(open, p, "rb") for p in bucket.paths],
                        ["a temporary file"] * len(bucket.paths), bucket.nbytes)
        try:
            for lines, _ in _split_lines(iter(r), self.sep, _no_progress):
                yield lines
        finally:
            r.close()
            if r in self.readers:
                self.readers.remove(r)

    def pool(self) -> ProcessPoolExecutor:
        if self.executor is None:
            self.writer.drain()
            self.writer.close()  # fork with no other thread running (restarts if needed)
            self.executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_worker_init,
            )
        return self.executor

    def cleanup(self, abandon: bool = False) -> None:
        if self.executor is not None:  # running buckets finish; queued ones are dropped
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
        for r in self.readers:
            r.close()
        self.readers = []
        self.writer.close(abandon)
        for sc in self.scatters:
            sc.close_files()
        self.scatters = []
        self.remove(list(self.temp_paths))


def _run(
    sources: Sequence[_Source],
    total: int | None,
    sink: _Sink,
    st: _State,
    on_read: Callable[[int], None],
) -> None:
    budget = st.budget
    reader = st.reader([s.open for s in sources], [f"input {s.name!r}" for s in sources], total)
    chunks = _split_lines(iter(reader), st.sep, on_read)
    pending: list[list[bytes]] = []
    n = nbytes = 0
    external = total is not None and total >= budget  # cannot fit: bytes alone exceed it
    for lines, size in chunks:
        pending.append(lines)
        n += len(lines)
        nbytes += size
        if external or nbytes + LINE_OVERHEAD * n > budget:
            external = True
            break
    if not external:
        _emit_in_memory(pending, n, nbytes, _rng(st.entropy, (1,)), sink)
        return

    # External path: scatter everything into k top-level buckets.
    cost_so_far = nbytes + LINE_OVERHEAD * n
    if total is not None:
        estimate = math.ceil(cost_so_far * total / max(1, nbytes))
        k = _fanout(estimate, budget, st.max_open)
    else:
        k = st.max_open
    sc = st.scatter((), k)
    pending.reverse()
    while pending:
        sc.add(pending.pop())
    for lines, _ in chunks:
        sc.add(lines)
    buckets = sc.close()
    reader.close()

    # Visit buckets depth first, in order; split again the ones that do not fit.
    par = None
    path = sink.offset_path()
    if st.workers > 1 and path is not None and sum(b.nbytes for b in buckets) >= _PARALLEL_MIN:
        par = _Parallel(st, sink, path)
    stack = [(b, (i,)) for i, b in reversed(list(enumerate(buckets)))]
    while stack:
        bucket, key = stack.pop()
        if bucket.nlines == 0:
            st.remove(bucket.paths)
            continue
        if par is not None and bucket.cost() <= budget:
            par.submit(bucket, key)
            continue
        if par is not None and bucket.nlines == 1:
            par.copy_line(bucket)
            continue
        if bucket.cost() <= budget:
            parts = list(st.bucket_lines(bucket))
            _emit_in_memory(parts, bucket.nlines, bucket.nbytes, _rng(st.entropy, key + (1,)), sink)
        elif bucket.nlines == 1:
            with open(bucket.paths[0], "rb") as f:
                sink.write_stream(f, bucket.nbytes)
        else:
            sc = st.scatter(key, _fanout(bucket.cost(), budget, st.max_open))
            for lines in st.bucket_lines(bucket):
                sc.add(lines)
            subs = sc.close()
            stack.extend((b, key + (i,)) for i, b in reversed(list(enumerate(subs))))
        st.remove(bucket.paths)
    if par is not None:
        par.finish()


class _Bar:
    def __init__(self, bar):
        self.bar = bar

    def update_read(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def update_write(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _progress_bar(enabled: bool, total: int | None) -> _Bar:
    if not enabled:
        return _Bar(None)
    from tqdm import tqdm

    return _Bar(
        tqdm(
            total=2 * total if total is not None else None,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc="shuffle (read+write)",
            file=sys.stderr,
        )
    )
