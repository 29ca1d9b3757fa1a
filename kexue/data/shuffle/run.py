"""``shuffle_files``: argument checks, the two phases in order, and cleanup whatever happens."""

from __future__ import annotations

import errno
import itertools
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from kexue.data.shuffle import fileio
from kexue.data.shuffle.emit import Emitter, emit
from kexue.data.shuffle.lines import LINE_OVERHEAD
from kexue.data.shuffle.reader import BlockReader, Extents, LineTooLong, ReadAhead, Source
from kexue.data.shuffle.scatter import scatter
from kexue.data.shuffle.sink import OffsetOutput, Sink
from kexue.data.shuffle.store import Bucket, Store
from kexue.data.sizes import parse_size
from kexue.io.atomic import TEMP_SUFFIX, deferred_signals, pid_alive

__all__ = ["shuffle_files", "ShuffleReport", "MAX_OPEN_FILES"]

#: Default most buckets per scatter pass (the fan-out; a bucket is a region of one file).
MAX_OPEN_FILES = 256
#: Target mean bucket cost as a fraction of the budget: leaves room for the random spread, and
#: lets two buckets be shuffled at once. Fewer, larger buckets mean larger writes in the scatter
#: pass (measured faster than 1/4 or 1/8 on the 1 GB benchmark).
_FILL = 0.4
#: Read and staging buffers of the scatter pass: budget / 8, within these bounds (8 MiB measured
#: faster than 4 or 16 on the benchmark: large writes, and buffers that stay in the L3 cache).
_MAX_CHUNK = 8 << 20
_MIN_CHUNK = 64 << 10
#: Output blocks of the shuffle pass (gathered lines, one write each).
_MAX_BLOCK = 4 << 20
_MAX_DEPTH = 200
#: Regions of the output file are this much larger than the expected bucket (and
#: ``_REGION_EXTRA`` bytes more): a bucket larger than its region continues in an overflow file.
_REGION_SLACK = 0.03
_REGION_EXTRA = 64 << 10

PathLike = str | os.PathLike
#: Bucket and overflow files in the temporary directory are named
#: ``kexue-shuffle-PID-RANDOM.TAG.kexue-tmp``: recognisable, and stale once PID has ended.
_TMP_PREFIX = "kexue-shuffle-"
_TMP_NAME = re.compile(re.escape(_TMP_PREFIX) + r"([0-9]+)-[0-9a-f]{8}\.[0-9a-z-]+"
                       + re.escape(TEMP_SUFFIX))


def remove_stale_tmpdir_files(tmpdir: PathLike) -> list[str]:
    """Remove the bucket files that killed runs left in ``tmpdir`` (their process has ended);
    returns their names. Files of running shuffles are kept."""
    try:
        names = os.listdir(tmpdir)
    except OSError:
        return []
    removed = []
    for name in names:
        m = _TMP_NAME.fullmatch(name)
        if m is None or pid_alive(int(m.group(1))):
            continue
        path = os.path.join(tmpdir, name)
        try:
            os.remove(path)
        except OSError:
            continue
        removed.append(path)
    return removed


@dataclass(frozen=True)
class ShuffleReport:
    """What :func:`shuffle_files` did.

    ``lines``/``bytes`` count the output (a final line without a separator counts one more
    byte); ``external`` is False when everything was shuffled in memory; ``passes`` is the
    deepest scatter level (1 = one scatter pass, 0 = in memory); ``temp_files`` is the number of
    temporary files created (overflow and bucket files; buckets in the output's own regions
    need none); ``outputs`` lists the files written (empty for stdout); ``buckets`` is the number
    of buckets of all scatter passes together.
    """

    lines: int
    bytes: int
    external: bool
    passes: int
    temp_files: int
    outputs: tuple[str, ...]
    buckets: int = 0


def _rng(entropy: int, key: tuple[int, ...]) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=key)))


def _fanout(cost: float, budget: int, max_open: int) -> int:
    return max(2, min(max_open, math.ceil(cost / max(1.0, budget * _FILL))))


class _Run:
    """One run: settings, temporary files, readers and threads (all released by ``close``)."""

    def __init__(self, budget: int, sep: bytes, entropy: int, max_open: int,
                 tmpdir: PathLike | None, threads: bool, workers: int, sink: Sink,
                 on_read: Callable[[int], None], decompress_threads: int = 0):
        self.budget, self.sep, self.entropy, self.max_open = budget, sep, entropy, max_open
        self.chunk = min(_MAX_CHUNK, max(_MIN_CHUNK, budget // 8))
        self.block = min(self.chunk, _MAX_BLOCK)
        self.tmpdir = os.fspath(tmpdir) if tmpdir is not None else tempfile.gettempdir()
        remove_stale_tmpdir_files(self.tmpdir)
        self.prefix = os.path.join(self.tmpdir,
                                   f"{_TMP_PREFIX}{os.getpid()}-{os.urandom(4).hex()}")
        self.threads = threads
        self.workers = workers if threads else 1
        self.sink, self.on_read = sink, on_read
        self.temps: dict[str, int] = {}  # temporary path -> open fd
        self.readers: list[BlockReader] = []
        self.decompress_threads = decompress_threads
        self.ahead: ReadAhead | None = None
        self.emitter: Emitter | None = None
        self.passes = 0
        self.temp_files = 0
        self.buckets = 0

    # ----------------------------------------------------------------- resources

    def _new_temp(self, tag: str) -> tuple[int, str]:
        path = f"{self.prefix}.{tag}{TEMP_SUFFIX}"
        with deferred_signals():  # recorded for the clean-up before an interrupt can strike
            fd = fileio.create(path)
            self.temps[path] = fd
        self.temp_files += 1
        return fd, path

    def _drop_temp(self, path: str) -> None:
        fd = self.temps.pop(path, None)
        if fd is not None:
            os.close(fd)
            try:
                os.remove(path)
            except FileNotFoundError:
                pass

    def _reader(self, openers, names, first: int | None = None,
                max_line: int | None = None) -> BlockReader:
        r = BlockReader(openers, names, self.sep, self.chunk, first, max_line)
        self.readers.append(r)
        return r

    def _close_reader(self, r: BlockReader) -> None:
        r.close()
        if r in self.readers:
            self.readers.remove(r)

    def _store(self, key: tuple[int, ...], k: int, cap: int,
               region: tuple[int, str] | None) -> Store:
        if len(key) >= _MAX_DEPTH:
            raise RuntimeError("shuffle recursion too deep (this should never happen)")
        self.passes = max(self.passes, len(key) + 1)
        self.buckets += k
        tag = "-".join(map(str, key)) if key else "root"
        return Store(k, cap, region, lambda: self._new_temp(tag), self._drop_temp)

    def close(self) -> None:
        """Stop every thread and remove every temporary file."""
        if self.emitter is not None:
            self.emitter.close()
            self.emitter = None
        for r in self.readers:
            r.close()
        self.readers = []
        if self.ahead is not None:
            self.ahead.close()
            self.ahead = None
        for path in list(self.temps):
            self._drop_temp(path)

    # ----------------------------------------------------------------- the algorithm

    def run(self, sources: Sequence[Source], total: int | None) -> None:
        """Shuffle ``sources`` (``total`` bytes when known) into the sink."""
        budget, sink = self.budget, self.sink
        if total is not None and total >= budget:
            first = None  # cannot fit: no need to read a large first block
        elif total is not None:
            first = total + len(sources) + 1
        else:
            first = budget + 1
        names = [f"input {s.name!r}" for s in sources]
        openers = [s.open for s in sources]
        if self.decompress_threads > 0:
            self.ahead = ReadAhead(sources, self.decompress_threads, budget // 8)
            openers = [self.ahead.opener(i) for i in range(len(sources))]
        reader = self._reader(openers, names, first,
                              max_line=max(0, budget - LINE_OVERHEAD))
        blocks = iter(reader)
        block = next(blocks)
        cost = len(block.data) + LINE_OVERHEAD * len(block.ends)
        if block.eof and cost <= budget:
            self.on_read(len(block.data))
            buf = fileio.anonymous(self.block)
            emit(block.data, block.ends, _rng(self.entropy, (1,)), sink, memoryview(buf))
            self._close_reader(reader)
            return

        # External path: scatter everything into k top-level buckets.
        region = sink.region_file() if total is not None else None
        if total is not None:
            k = _fanout(cost * total / max(1, len(block.data)), budget, self.max_open)
            size = total + len(sources)
            cap = math.ceil(size / k * (1 + _REGION_SLACK)) + _REGION_EXTRA
        else:
            k, cap = self.max_open, 0
        store = self._store((), k, cap, region)
        if region is not None:
            fileio.preallocate(region[0], k * cap, region[1])
        scatter(itertools.chain([block], blocks), store, _rng(self.entropy, (0,)), self.chunk,
                self.threads, self.on_read)
        del block
        buckets = store.close()
        self._close_reader(reader)
        if self.ahead is not None:  # its read-ahead memory goes before phase 2
            self.ahead.close()
            self.ahead = None
        if region is not None and not store.in_place():
            with deferred_signals():  # the lent file changes owner in one step
                fd, path = sink.replace_file()  # the regions stay readable as a temporary file
                self.temps[path] = fd
        self._phase2(buckets)

    def _phase2(self, buckets: list[Bucket]) -> None:
        """Visit buckets depth first, in order; split again the ones that do not fit."""
        budget, sink = self.budget, self.sink
        target = sink.offset_output()

        def finished(bucket: Bucket) -> None:
            if target is not None:
                sink.count(bucket.nlines, bucket.nbytes)
            bucket.done()

        em = self.emitter = Emitter(self.workers, budget, self.block, self.sep, target, finished)
        offset = 0
        stack = [(b, (i,)) for i, b in reversed(list(enumerate(buckets)))]
        while stack:
            bucket, key = stack.pop()
            if bucket.nlines == 0:
                bucket.done()
                continue
            rng = _rng(self.entropy, key + (1,))
            out = None if target is not None else sink
            if bucket.cost() <= em.slot:
                em.submit(bucket, rng, offset, out)
            elif bucket.cost() <= budget:
                em.emit_alone(bucket, rng, offset, out)
            elif bucket.nlines == 1:
                em.copy_line(bucket, self._line_writer(target, offset, bucket.nbytes))
            else:
                ticket = em.ticket()
                sub = self._store(key, _fanout(bucket.cost(), budget, self.max_open), 0, None)
                r = self._reader([lambda b=bucket: Extents(b.extents)], ["a temporary file"])
                try:
                    scatter(r, sub, _rng(self.entropy, key + (0,)), self.chunk, self.threads)
                finally:
                    self._close_reader(r)
                    em.gate.done(ticket)
                subs = sub.close()
                bucket.done()
                stack.extend((b, key + (i,)) for i, b in reversed(list(enumerate(subs))))
                continue
            offset += bucket.nbytes
        em.drain()
        em.close()
        self.emitter = None

    def _line_writer(self, target: tuple[int, str] | None, offset: int, total: int):
        if target is None:
            sink = self.sink
            return lambda view, first, last: sink.write_line_piece(view, first, last, total)
        out = OffsetOutput(target[0], offset, target[1])
        return lambda view, first, last: out.write(view, int(last))


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
    force: bool = False,
    level: int | None = None,
    decompress_threads: int | None = None,
) -> ShuffleReport:
    """Write the lines of ``inputs`` to ``output`` in a uniformly random order.

    Every permutation of the input lines is equally likely whatever ``memory`` is (see the
    package docstring for the method and the proof); the same ``seed`` and ``memory`` give the
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
        tmpdir: where temporary files go (default: the system temporary directory): overflow
            and bucket files, up to about the input size when the output is a stream or shards
            or the input is stdin; almost nothing for a file output, whose own temporary file
            holds the buckets. They are removed on success, error and Ctrl-C.
        shard_lines, shard_bytes: split the output into numbered shards of at most this many
            lines / bytes (lines are never split; a longer line gets a shard of its own).
        separator: the one-byte line separator (``b"\\0"`` for ``-z``).
        max_open_files: the most buckets of one scatter pass (>= 2); larger inputs are split
            again. (Buckets are regions of one file now, so few files are ever open.)
        fsync: flush output files to the disk before the rename (durable against power loss;
            slower). Without it the rename is still atomic for other processes, as with cp.
        threads: read the next block on a background thread while the current one is
            scattered, and allow ``workers`` (False: everything on the calling thread). The
            output does not depend on it.
        workers: threads that shuffle buckets in parallel when the output is one file (each
            writes at its bucket's offset); the buckets in memory together stay within
            ``memory``. The output does not depend on it.
        progress: show a tqdm progress bar (bytes read and written) on stderr.
        level: compression level of a ``.gz``/``.bz2``/``.xz``/``.zst`` output (gzip and
            bzip2 1-9, xz 0-9, zstd 1-22).
        force: with sharding, replace an existing set of shards of the same template (the
            whole set, once the new one is complete); without it an existing set is an error,
            since the new shards would mix with the old ones.
        decompress_threads: background threads that decompress compressed input files ahead
            of the scatter, up to that many files at once, together at most ``memory / 8``
            bytes ahead (at least 2 MiB a thread; memory on top of the budget while the input
            is read, freed before the shuffle pass); ``0``: decompress on the
            reading thread; ``None``: the usable cores minus the two the scatter keeps busy
            (0 on two cores), at most the number of compressed files. With
            ``threads=False``: 0. The output does not depend on it.

    Compressed corpora: inputs in gzip, bzip2, xz or zstd (recognised by their first bytes,
    whatever their names; concatenated members read whole) are decompressed as they stream into
    the scatter pass, never into a temporary plain copy. Their size is not known in advance, so
    they are shuffled as standard input is: the output equals that of the decompressed bytes
    given on stdin (same ``seed`` and ``memory``), and that of the decompressed file when it
    fits in ``memory``. A truncated or corrupt input fails naming the file and the byte offset;
    nothing is written. An output (or shard) named ``.gz``/``.bz2``/``.xz``/``.zst`` is written
    compressed at ``level`` (``None``: the format's default); see :mod:`kexue.io.lines`.

    Files written keep the permissions of the file they replace and are never more readable
    than the input files (``kexue shuffle secret.txt -o out.txt`` on a mode-600 input gives a
    mode-600 output). A line costing more than ``memory`` (its bytes plus ``LINE_OVERHEAD``)
    is refused with an error naming its input, line number and size and the ``memory`` that
    would take it; nothing is written. Temporary files that a killed earlier run left beside
    the output (``.NAME.PID.RANDOM.kexue-tmp``) or in ``tmpdir``
    (``kexue-shuffle-PID-RANDOM.TAG.kexue-tmp``) are removed once their process has ended.

    Raises:
        ValueError: bad arguments (``TypeError`` for arguments of the wrong type).
        OSError: with a clear message, for unreadable inputs, an unwritable output, or a full
            disk; no partial output is left behind.
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
    if not isinstance(force, bool):
        raise TypeError(f"force must be a bool, got {force!r}")
    if decompress_threads is not None and (
        isinstance(decompress_threads, bool) or not isinstance(decompress_threads, int)
        or decompress_threads < 0
    ):
        raise ValueError("decompress_threads must be a non-negative int or None, got "
                         f"{decompress_threads!r}")
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

    sources = [Source(x) for x in inputs]
    compressed = sum(1 for s in sources if s.codec is not None and s.is_path)
    if decompress_threads is None:
        # the scatter already keeps two cores busy (reading/labelling and writing): measured on
        # 2 cores, a decompression thread on top made runs slower (4.2 vs 4.0 s, 3 A/B pairs)
        decompress_threads = min(compressed, max(0, len(os.sched_getaffinity(0)) - 2))
    if not threads:
        decompress_threads = 0
    entropy = seed if seed is not None else np.random.SeedSequence().entropy
    known = [s.size for s in sources]
    total = sum(known) if all(x is not None for x in known) else None  # type: ignore[misc]

    bar = _progress_bar(progress, total)
    sink: Sink | None = None
    run: _Run | None = None
    try:
        like = [s.spec for s in sources if s.is_path]
        with deferred_signals():  # Sink() creates the output's temporary file: keep its handle
            sink = Sink(output, shard_lines, shard_bytes, bar.update, fsync=fsync, like=like,
                        force=force, level=level)
        run = _Run(budget, separator, entropy, max_open_files, tmpdir, threads, workers, sink,
                   bar.update, min(decompress_threads, compressed))
        run.run(sources, total)
        run.close()
        outputs = sink.commit()
    except BaseException as e:
        if run is not None:
            run.close()
        if sink is not None:
            sink.abort()
        if isinstance(e, LineTooLong):
            raise ValueError(_too_long_message(e, memory, budget)) from None
        if (isinstance(e, OSError) and e.errno == errno.ENOSPC and "no space" not in str(e)
                and run is not None):
            raise OSError(
                errno.ENOSPC, f"no space left on device (temporary files in {run.tmpdir!r})"
            ) from e
        raise
    finally:
        bar.close()
    assert sink is not None and run is not None
    return ShuffleReport(
        lines=sink.lines,
        bytes=sink.bytes,
        external=run.passes > 0,
        passes=run.passes,
        temp_files=run.temp_files,
        outputs=outputs,
        buckets=run.buckets,
    )


def _size_text(n: int) -> str:
    """``n`` bytes rounded up to a size that ``--memory`` accepts (``300M``, ``2G``)."""
    for unit, factor in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= factor:
            return f"{-(-n // factor)}{unit}"
    return str(n)


def _too_long_message(e: LineTooLong, memory: int | str, budget: int) -> str:
    need = e.size + LINE_OVERHEAD
    return (f"{e.name}: line {e.line} is {e.size:,} bytes, more than the memory budget takes "
            f"(--memory {memory} = {budget:,} bytes holds lines of up to {e.max_line:,} "
            f"bytes); shuffling it needs --memory {_size_text(need)} or more. Nothing was "
            "written.")


class _Bar:
    def __init__(self, bar):
        self.bar = bar

    def update(self, n: int) -> None:
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
