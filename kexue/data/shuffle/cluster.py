"""The same exact shuffle on a Dask cluster (``dask.distributed``), files as fsspec URLs.

Article: https://kexue.fm/archives/8662 (the problem); the method is the Rao/Sandelius
two-pass scatter of :mod:`kexue.data.shuffle`, with its phases spread over the workers of an
existing Dask cluster (no scheduling or transport of our own):

1. **Scatter** (one task per input file, its *partition* ``p``): the file is read (decompressed
   by content, :mod:`kexue.io.lines`) in blocks of whole lines of ``segment`` bytes; every line
   gets a label in ``0..k-1`` from the partition's own random stream, the block's lines are
   ordered by label (stable: input order within a bucket) and appended to one *partition file*
   on shared storage. The task returns, per block, where each bucket's bytes start.
2. **Shuffle** (one task per bucket ``b``): the bucket's byte ranges, read from every partition
   file in input order, are permuted in memory (the bucket's own random stream) and written
   out as *pieces*, cut where output shards begin (a bucket starts at global line ``L_b``, the
   lines of the buckets before it, known once phase 1 is done). A bucket that costs more than
   ``memory`` is shuffled by the single-machine :func:`~kexue.data.shuffle.shuffle_files`
   (bounded memory, recursive scatter on the worker's local disk), which is uniform too.
3. **Publish**: each output shard is its pieces in bucket order (one piece is renamed, several
   are concatenated by a task; compressed pieces are separate streams, and concatenated streams
   are a valid file of every supported format). Shards are committed only once all exist.

**Randomness.** The labels of partition ``p`` come from ``SeedSequence(seed, (0, p))``, the
permutation of bucket ``b`` from ``SeedSequence(seed, (1, b))``; the fan-out ``k`` and the
block size depend only on the inputs' sizes and ``memory``. So the output is fixed by
``seed``, ``memory`` and the inputs, and never depends on the number of workers, their
threads, the order in which tasks run, or retries. Uniformity: every line gets an independent
uniform label and every bucket a uniform permutation given its contents, which is the proof
of :mod:`kexue.data.shuffle` unchanged: every order of the input lines is equally likely.
(The single-machine path draws its labels differently, so the two give different orders.)

**Storage.** Every worker (and the client) must see the inputs, the output's directory and the
temporary directory under the same URLs: a shared file system (``file://`` on NFS, Lustre...)
or an object store (``s3://``, ``gs://``... as the installed fsspec backends allow). The job's
files live in one hidden *job directory* beside the output,
``.kexue-shuffle.HOST.PID.RANDOM.kexue-tmp`` (``tmpdir`` moves the partition files, about the
decompressed size of the input, elsewhere): partition files, pieces and finished shards.

**Failures.** Every task writes whole files (local storage: :mod:`kexue.io.atomic`, a
temporary name renamed when complete; object stores: an object appears when its upload
completes) under a name fixed by its inputs, and returns what it wrote, so a task re-run after
its worker died (Dask's ``distributed.scheduler.allowed-failures`` times, 3 by default)
rewrites the same bytes and the result is identical. If the job fails (a task fails, a worker
dies more often than allowed, Ctrl-C), the client cancels its tasks, removes the job directory
and nothing is published. A job directory whose client was killed is removed by the next run
writing into the same directory from the same host (its PID is gone); otherwise remove it by
hand.

**What the publish step guarantees.** No output file is touched until every shard is complete
in the job directory. Then, on a local or shared POSIX file system, each shard is renamed over
its final name (atomic per file), one after the other, and with ``force`` the old set's extra
shards are removed last: a client killed inside that loop (it takes milliseconds) leaves a mix
of new and old shards, which a re-run with ``force`` repairs. POSIX offers no atomic rename of
a set of files. On object stores a "rename" is a copy and a delete, so a shard appears whole
but the set appears one shard at a time.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import socket
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from kexue.data.shuffle.lines import LINE_OVERHEAD, gather, line_sizes
from kexue.data.shuffle.reader import BlockReader
from kexue.data.shuffle.sink import shard_pattern
from kexue.data.sizes import parse_size
from kexue.io import atomic
from kexue.io import lines as linefiles

__all__ = ["shuffle_cluster", "ClusterReport", "remove_stale_jobs"]

#: Expected bytes of text per stored byte of a compressed input, to choose the fan-out (an
#: estimate only: a bucket larger than ``memory`` is still shuffled correctly, more slowly).
_RATIO = 4
#: Target mean bucket cost as a fraction of ``memory`` (as on one machine).
_FILL = 0.4
#: Blocks of the scatter tasks: memory / 4, within these bounds (a bucket reads one range of
#: about block / k bytes per block: larger blocks, fewer and larger reads).
_MAX_SEGMENT = 256 << 20
_MIN_SEGMENT = 64 << 10
#: Output blocks of the shuffle tasks, and copy buffers.
_BLOCK = 4 << 20
_JOB = re.compile(r"\.kexue-shuffle\.(.+)\.([0-9]+)\.[0-9a-f]{8}" + re.escape(atomic.TEMP_SUFFIX))


@dataclass(frozen=True)
class ClusterReport:
    """What :func:`shuffle_cluster` did: ``lines``/``bytes`` of the output (plain text),
    ``outputs`` (final URLs), ``partitions`` (scatter tasks), ``buckets`` (shuffle tasks,
    including empty ones) and ``large_buckets`` (buckets over ``memory``, shuffled with the
    bounded-memory single-machine path)."""

    lines: int
    bytes: int
    outputs: tuple[str, ...]
    partitions: int
    buckets: int
    large_buckets: int


# --------------------------------------------------------------------------- storage helpers


def _fs(url: str):
    import fsspec

    return fsspec.core.url_to_fs(url)


def _is_local(fs) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


@contextlib.contextmanager
def _write(url: str, fsync: bool = False) -> Iterator[BinaryIO]:
    """A whole file written at ``url``: through :func:`kexue.io.atomic.atomic_write` on local
    storage (a killed writer leaves no file under the name), an fsspec upload elsewhere."""
    fs, path = _fs(url)
    if _is_local(fs):
        try:
            with atomic.atomic_write(path, "wb", fsync=fsync) as f:
                try:
                    yield f
                except BaseException as e:  # the body's own error (e.g. a corrupt input):
                    raise _BodyError() from e  # not to be renamed "cannot write ..."
        except _BodyError as e:
            raise e.__cause__ from None
    else:
        f = fs.open(path, "wb")
        try:
            yield f
        except BaseException:
            if hasattr(f, "discard"):  # an upload that is never completed
                f.discard()
            raise
        f.close()


class _BodyError(Exception):
    """Carries an error of the code writing a file through the atomic writer unchanged."""


def _read_ranges(ranges: Sequence[tuple[str, int, int]], view: memoryview) -> None:
    """Fill ``view`` with the byte ranges ``(url, start, end)`` one after the other (a file
    stays open while consecutive ranges come from it)."""
    f, current, pos = None, None, 0
    try:
        for url, lo, hi in ranges:
            if url != current:
                if f is not None:
                    f.close()
                fs, path = _fs(url)
                f, current = fs.open(path, "rb"), url
            f.seek(lo)
            end = pos + hi - lo
            while pos < end:
                n = f.readinto(view[pos:end])
                if not n:
                    raise OSError(errno.EIO, f"temporary file {url!r} of kexue shuffle is "
                                             "shorter than what was written to it")
                pos += n
    finally:
        if f is not None:
            f.close()


class _Ranges:
    """A binary stream of byte ranges ``(url, start, end)`` read in order (a bucket)."""

    def __init__(self, ranges: Sequence[tuple[str, int, int]]):
        self.ranges = list(ranges)
        self.i = 0
        self.f = None
        self.left = 0
        self.name = "a bucket of kexue shuffle"

    def readinto(self, view) -> int:
        view = memoryview(view).cast("B")
        while self.left == 0:
            if self.f is not None:
                self.f.close()
                self.f = None
            if self.i == len(self.ranges):
                return 0
            url, start, end = self.ranges[self.i]
            self.i += 1
            fs, path = _fs(url)
            self.f = fs.open(path, "rb")
            self.f.seek(start)
            self.left = end - start
        n = self.f.readinto(view[: min(len(view), self.left)])
        if not n:
            raise OSError(errno.EIO, "a temporary file of kexue shuffle was truncated")
        self.left -= n
        return n

    def read(self, n: int = -1) -> bytes:
        buf = bytearray(n if n >= 0 else 1 << 20)
        return bytes(buf[: self.readinto(buf)])

    def close(self) -> None:
        if self.f is not None:
            self.f.close()
            self.f = None


def _rng(entropy: int, key: tuple[int, ...]) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=key)))


# --------------------------------------------------------------------------- phase 1 (tasks)


def scatter_partition(url: str, p: int, k: int, entropy: int, segment: int, sep: bytes,
                      max_line: int, dest: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Scatter the lines of input ``url`` (partition ``p``) into ``k`` buckets, writing one
    partition file at ``dest``. Returns, per block, the start of each bucket's bytes in the
    file (``k + 1`` offsets; the last is the block's end) and each bucket's line count."""
    fs, path = _fs(url)
    if _is_local(fs):
        def opener():
            return linefiles.open_input(path, name=repr(url))
    else:
        def opener():
            return linefiles.open_input(fs.open(path, "rb"), name=repr(url))
    rng = _rng(entropy, (0, p))
    reader = BlockReader([opener], [f"input {url!r}"], sep, segment, None, max_line)
    stage = bytearray(segment)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    pos = 0
    try:
        with _write(dest) as f:
            for block in reader:
                ends, data = block.ends, block.data
                n = len(ends)
                if n == 0:
                    continue
                labels = rng.integers(0, k, size=n, dtype=np.uint16)
                order = np.argsort(labels, kind="stable").astype(np.int64)
                sizes = np.diff(ends, prepend=0)
                nbytes = np.bincount(labels, weights=sizes, minlength=k).astype(np.int64)
                counts = np.bincount(labels, minlength=k).astype(np.int64)
                if len(stage) < len(data):
                    stage = bytearray(len(data))
                view = memoryview(stage)
                copied, total = gather(data, ends, order, view)
                assert copied == n and total == len(data)
                f.write(view[:total])
                offsets = np.empty(k + 1, dtype=np.int64)
                offsets[0] = pos
                np.cumsum(nbytes, out=offsets[1:])
                offsets[1:] += pos
                pos += total
                out.append((offsets, counts))
    finally:
        reader.close()
    return out


# --------------------------------------------------------------------------- phase 2 (tasks)


class _Pieces:
    """Routes shuffled lines to pieces of output shards: lines ``[start, start + n)`` of the
    output, shard ``i`` holding lines ``[i * per, (i + 1) * per)``; piece of shard ``i`` is
    written at ``name(i)``, compressed as ``codec`` (each piece its own stream)."""

    def __init__(self, start: int, per: int | None, name, codec: str | None,
                 level: int | None):
        self.line, self.per, self.name = start, per, name
        self.codec, self.level = codec, level
        self.cm = None  # the open piece's _write context
        self.f = None
        self.enc = None
        self.shard = -1
        self.written: list[tuple[int, str, int, int]] = []  # (shard, url, lines, bytes)

    def _open(self, shard: int) -> None:
        self._close()
        self.shard = shard
        url = self.name(shard)
        self.cm = _write(url)
        self.f = self.cm.__enter__()
        if self.codec is not None:
            self.enc = linefiles.Encoder(self.f, self.codec, self.level)
        self.written.append((shard, url, 0, 0))

    def _close(self) -> None:
        if self.f is None:
            return
        if self.enc is not None:
            self.enc.close()
            self.enc = None
        self.f = None
        cm, self.cm = self.cm, None
        cm.__exit__(None, None, None)

    def write(self, data: memoryview, sizes: np.ndarray) -> None:
        """Append whole lines (``data``; ``sizes``: their sizes, in order)."""
        i, done = 0, 0
        while i < len(sizes):
            shard = 0 if self.per is None else self.line // self.per
            if shard != self.shard:
                self._open(shard)
            take = len(sizes) - i
            if self.per is not None:
                take = min(take, (shard + 1) * self.per - self.line)
            nbytes = int(sizes[i : i + take].sum())
            (self.enc or self.f).write(data[done : done + nbytes])
            s, url, lines, total = self.written[-1]
            self.written[-1] = (s, url, lines + take, total + nbytes)
            self.line += take
            i += take
            done += nbytes

    def close(self) -> list[tuple[int, str, int, int]]:
        self._close()
        return self.written

    def abort(self) -> None:
        """Discard the piece being written (pieces already closed stay: the job directory is
        removed with them if the job fails, or they are rewritten by a retry)."""
        self.enc = None
        self.f = None
        cm, self.cm = self.cm, None
        if cm is not None:
            err = RuntimeError("bucket shuffle failed")
            with contextlib.suppress(BaseException):
                cm.__exit__(RuntimeError, err, None)


def shuffle_bucket(ranges: list[tuple[str, int, int]], nlines: int, nbytes: int, b: int,
                   entropy: int, memory: int, sep: bytes, start: int, per: int | None,
                   piece_prefix: str, codec: str | None, level: int | None,
                   local_tmp: str | None = None) -> tuple[list[tuple[int, str, int, int]], bool]:
    """Shuffle bucket ``b`` (its ``ranges`` of partition files, ``nlines`` lines of ``nbytes``
    bytes) and write it as pieces ``{piece_prefix}{shard:06d}-{b:06d}``. Returns the pieces
    ``(shard, url, lines, bytes)`` and whether the bucket was too large for memory."""
    def name(shard: int) -> str:
        return f"{piece_prefix}{shard:06d}-{b:06d}"

    pieces = _Pieces(start, per, name, codec, level)
    large = nbytes + LINE_OVERHEAD * nlines > memory
    try:
        if not large:
            buf = bytearray(nbytes)
            view = memoryview(buf)
            _read_ranges(ranges, view)
            ends = np.empty(nlines, dtype=np.int64)
            from kexue.data.shuffle.lines import find_ends

            found = find_ends(view, sep[0], ends)
            if found != nlines or (nlines and int(ends[-1]) != nbytes):
                raise OSError(errno.EIO, f"bucket {b} of kexue shuffle does not hold the "
                                         "lines written to it")
            perm = _rng(entropy, (1, b)).permutation(nlines)
            block = memoryview(bytearray(min(_BLOCK, max(1, nbytes))))
            j = 0
            while j < nlines:
                copied, size = gather(view, ends, perm[j:], block)
                if copied == 0:  # one line longer than the block
                    o = int(perm[j])
                    lo = int(ends[o - 1]) if o else 0
                    pieces.write(view[lo : int(ends[o])], np.array([int(ends[o]) - lo]))
                    j += 1
                    continue
                pieces.write(block[:size], line_sizes(ends, perm[j : j + copied]))
                j += copied
        else:
            _shuffle_large(ranges, b, entropy, memory, sep, pieces, local_tmp)
        return pieces.close(), large
    except BaseException:
        pieces.abort()
        raise


def _shuffle_large(ranges, b: int, entropy: int, memory: int, sep: bytes, pieces: _Pieces,
                   local_tmp: str | None) -> None:
    """A bucket over ``memory``: the single-machine bounded-memory shuffle on this worker's
    local disk (its own seed from the bucket's stream), then cut into pieces."""
    from kexue.data.shuffle.run import shuffle_files

    seed = int(np.random.SeedSequence(entropy, spawn_key=(2, b)).generate_state(1, np.uint64)[0])
    if local_tmp is None:  # the worker's --local-directory, else the system's
        try:
            from distributed import get_worker

            local_tmp = get_worker().local_directory
        except (ImportError, ValueError):
            local_tmp = None
    with tempfile.TemporaryDirectory(prefix="kexue-shuffle-bucket-", dir=local_tmp) as tmp:
        local = os.path.join(tmp, "bucket.txt")
        shuffle_files([_Ranges(ranges)], local, memory=memory, seed=seed, tmpdir=tmp,
                      separator=sep, progress=False)
        reader = BlockReader([lambda: open(local, "rb", buffering=0)], ["bucket"], sep,
                             min(_BLOCK, memory), None, None)
        try:
            for block in reader:
                if len(block.ends):
                    pieces.write(block.data, np.diff(block.ends, prepend=0))
        finally:
            reader.close()


# --------------------------------------------------------------------------- phase 3 (tasks)


def concatenate(urls: list[str], dest: str, fsync: bool) -> str:
    """Write the files ``urls`` one after the other as ``dest`` (a whole file); returns it."""
    buf = memoryview(bytearray(_BLOCK))
    with _write(dest, fsync=fsync) as out:
        for url in urls:
            fs, path = _fs(url)
            with fs.open(path, "rb") as f:
                while True:
                    n = f.readinto(buf)
                    if not n:
                        break
                    out.write(buf[:n])
    return dest


# --------------------------------------------------------------------------- the client side


def _expand(inputs: Sequence[str]) -> list[str]:
    """Input URLs with glob patterns expanded (sorted); each must exist and be a file."""
    import fsspec

    urls: list[str] = []
    for spec in inputs:
        spec = os.fspath(spec)
        if spec == "-":
            raise ValueError("the cluster path reads files, not standard input")
        fs, path = fsspec.core.url_to_fs(spec)
        if any(c in path for c in "*?["):
            found = sorted(fs.glob(path))
            if not found:
                raise FileNotFoundError(errno.ENOENT, f"no input matches {spec!r}")
        else:
            if not fs.exists(path):
                raise FileNotFoundError(errno.ENOENT, f"cannot read input {spec!r}: no such "
                                                      "file")
            found = [path]
        for x in found:
            if fs.isdir(x):
                raise IsADirectoryError(errno.EISDIR, f"input {fs.unstrip_protocol(x)!r} is "
                                                      "a directory")
            urls.append(fs.unstrip_protocol(x))
    return urls


def _codec(url: str) -> str | None:
    fs, path = _fs(url)
    with fs.open(path, "rb") as f:
        return linefiles.detect(f.read(8))


def remove_stale_jobs(directory_url: str) -> list[str]:
    """Remove job directories in ``directory_url`` that a killed client of *this host* left
    (its process has ended); returns their URLs. Other hosts' jobs are never touched."""
    fs, path = _fs(directory_url)
    host = socket.gethostname()
    removed = []
    try:
        names = fs.ls(path, detail=False)
    except FileNotFoundError:
        return []
    for full in names:
        m = _JOB.fullmatch(full.rstrip("/").rsplit("/", 1)[-1])
        if m and m.group(1) == host and not atomic.pid_alive(int(m.group(2))):
            fs.rm(full, recursive=True)
            removed.append(fs.unstrip_protocol(full))
    return removed


def _existing_shards(fs, template: str) -> list[str]:
    directory, pattern = shard_pattern(template)
    try:
        names = fs.ls(directory, detail=False)
    except FileNotFoundError:
        return []
    found = []
    for full in names:
        m = pattern.fullmatch(full.rstrip("/").rsplit("/", 1)[-1])
        if m and fs._strip_protocol(template.format(i=int(m.group(1)))) == fs._strip_protocol(
                full):
            found.append((int(m.group(1)), full))
    return [p for _, p in sorted(found)]


def shuffle_cluster(inputs: str | Sequence[str], output: str, *, client: Any,
                    memory: int | str = "1G", seed: int | None = None,
                    tmpdir: str | None = None, shard_lines: int | None = None,
                    separator: bytes = b"\n", level: int | None = None, force: bool = False,
                    fsync: bool = False) -> ClusterReport:
    """Shuffle the lines of ``inputs`` into ``output`` on the Dask cluster of ``client``.

    Exactly uniform, like :func:`~kexue.data.shuffle.shuffle_files`, and fixed by ``seed``,
    ``memory`` and the inputs whatever the number of workers (see the module docstring for the
    phases, where files go, failures and the publish guarantee).

    Args:
        inputs: fsspec URLs or paths (``file:///data/a.txt.gz``, ``s3://b/c-*.txt``); glob
            patterns are expanded (sorted). Compressed inputs (gzip, bzip2, xz, zstd) are
            recognised by content. One scatter task per file: split a single huge file first.
        output: a URL; with ``shard_lines`` a template with ``{i}`` (``part-{i:05d}.txt.gz``;
            a name without ``{`` gets ``-{i:05d}``). Named ``.gz``/``.bz2``/``.xz``/``.zst``:
            compressed at ``level``.
        client: a ``distributed.Client``.
        memory: the memory budget of one task (a worker runs ``nthreads`` tasks at once).
        seed: a non-negative int, ``None`` for fresh entropy.
        tmpdir: URL of a directory for the partition files (default: the job directory beside
            the output); every worker must see it.
        shard_lines: lines per output shard (shards cut by bytes are not supported here).
        separator: the one-byte line separator.
        force: replace an existing set of shards (the old set's extra shards are removed after
            the new set is in place).
        fsync: flush the output files to disk before their rename (local storage).

    Raises:
        ValueError: bad arguments (TypeError for arguments of the wrong type).
        OSError: unreadable inputs or an unwritable output.
        Exception: any error of a task (e.g. a truncated compressed input, named with its
            byte offset) is raised again here; nothing is published and the job directory is
            removed.
    """
    import fsspec

    budget = parse_size(memory)
    if budget < 1:
        raise ValueError("memory must be at least 1 byte")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
    if not isinstance(separator, bytes) or len(separator) != 1:
        raise ValueError(f"separator must be a single byte, got {separator!r}")
    if shard_lines is not None and (
        isinstance(shard_lines, bool) or not isinstance(shard_lines, int) or shard_lines < 1
    ):
        raise ValueError(f"shard_lines must be a positive int, got {shard_lines!r}")
    if not isinstance(force, bool):
        raise TypeError(f"force must be a bool, got {force!r}")
    if isinstance(inputs, str | os.PathLike):
        inputs = [inputs]  # type: ignore[list-item]
    inputs = [os.fspath(x) for x in inputs]  # type: ignore[union-attr]
    if not inputs:
        raise ValueError("no inputs given")
    if output == "-" or not isinstance(output, str | os.PathLike):
        raise ValueError("the cluster path writes files: give an output URL, not a stream")
    output = os.fspath(output)
    urls = _expand(inputs)

    out_fs, out_path = fsspec.core.url_to_fs(output)
    local = _is_local(out_fs)
    if shard_lines is not None and "{" not in out_path:
        out_path += "-{i:05d}"
    if shard_lines is not None:
        shard_pattern(out_path)  # validates the template
        codec = linefiles.codec_for_name(out_path.format(i=0))
    else:
        if "{" in out_path:
            raise ValueError(f"output {output!r} is a shard template: give shard_lines")
        codec = linefiles.codec_for_name(out_path)
    if codec is None and level is not None:
        raise ValueError("a compression level needs an output named .gz, .bz2, .xz or .zst")
    if codec is not None:
        linefiles.Encoder(_Discard(), codec, level)  # checks the level and the package
    out_dir = out_path.rsplit("/", 1)[0] if "/" in out_path else "."
    if not out_fs.isdir(out_dir):
        raise FileNotFoundError(errno.ENOENT, f"output directory {out_dir!r} does not exist")
    if shard_lines is not None:
        old = _existing_shards(out_fs, out_path)
        if old and not force:
            shown = ", ".join(repr(p) for p in old[:3]) + (" ..." if len(old) > 3 else "")
            raise FileExistsError(
                errno.EEXIST, f"{len(old)} shard file(s) of {out_path!r} already exist "
                f"({shown}); a new set would mix with them: remove them, choose another name, "
                "or pass --force (force=True)")
    else:
        old = []
        if out_fs.isdir(out_path):
            raise IsADirectoryError(errno.EISDIR, f"output {output!r} is a directory")
    remove_stale_jobs(out_fs.unstrip_protocol(out_dir))

    entropy = seed if seed is not None else int(np.random.SeedSequence().entropy)
    codecs = [_codec(u) for u in urls]
    for c in codecs:
        linefiles.require(c)
    sizes = [_fs(u)[0].size(_fs(u)[1]) for u in urls]
    estimate = sum(s * (_RATIO if c else 1) for s, c in zip(sizes, codecs))
    k = max(1, min(65535, math.ceil(estimate / max(1.0, budget * _FILL))))
    segment = max(_MIN_SEGMENT, min(_MAX_SEGMENT, budget // 4))
    max_line = max(0, budget - LINE_OVERHEAD)
    like = [out_fs._strip_protocol(u) for u in urls] if local and all(
        _is_local(_fs(u)[0]) for u in urls) else None

    job_name = f".kexue-shuffle.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    job_name += atomic.TEMP_SUFFIX
    job = f"{out_dir}/{job_name}"
    job_url = out_fs.unstrip_protocol(job)
    if tmpdir is not None:
        t_fs, t_path = fsspec.core.url_to_fs(os.fspath(tmpdir))
        if not t_fs.isdir(t_path):
            raise FileNotFoundError(errno.ENOENT, f"temporary directory {tmpdir!r} does not "
                                                  "exist")
        work_fs, work = t_fs, f"{t_path.rstrip('/')}/{job_name}"
    else:
        work_fs, work = out_fs, job
    work_url = work_fs.unstrip_protocol(work)
    tag = uuid.uuid4().hex[:8]
    futures: list[Any] = []
    staged: list[tuple[str, str]] = []
    out_fs.makedirs(job, exist_ok=False)
    if work != job or work_fs is not out_fs:
        work_fs.makedirs(work, exist_ok=False)
    try:
        # Phase 1: one scatter task per input file.
        futures = [
            client.submit(scatter_partition, u, p, k, entropy, segment, separator, max_line,
                          f"{work_url}/part-{p:06d}", key=f"kexue-scatter-{tag}-{p}",
                          pure=False)
            for p, u in enumerate(urls)
        ]
        parts = client.gather(futures)
        futures = []
        # Bucket b: its ranges in every block of every partition file, in input order.
        nlines = np.zeros(k, dtype=np.int64)
        nbytes = np.zeros(k, dtype=np.int64)
        ranges: list[list[tuple[str, int, int]]] = [[] for _ in range(k)]
        for p, blocks in enumerate(parts):
            src = f"{work_url}/part-{p:06d}"
            for offsets, counts in blocks:
                nlines += counts
                nbytes += np.diff(offsets)
                for b in np.flatnonzero(counts).tolist():
                    ranges[b].append((src, int(offsets[b]), int(offsets[b + 1])))
        del parts
        starts = np.concatenate([[0], np.cumsum(nlines)[:-1]]).astype(np.int64)
        total_lines = int(nlines.sum())
        # Phase 2: one task per non-empty bucket, writing pieces of the output shards.
        todo = [b for b in range(k) if nlines[b]]
        futures = [
            client.submit(shuffle_bucket, ranges[b], int(nlines[b]), int(nbytes[b]), b,
                          entropy, budget, separator, int(starts[b]), shard_lines,
                          f"{job_url}/piece-", codec, level,
                          key=f"kexue-bucket-{tag}-{b}", pure=False)
            for b in todo
        ]
        results = client.gather(futures)
        futures = []
        large = sum(1 for _, big in results if big)
        pieces: dict[int, list[tuple[str, int]]] = {}
        for written, _ in results:
            for shard, url, _lines, size in written:
                pieces.setdefault(shard, []).append((url, size))
        nshards = max(pieces) + 1 if pieces else 1
        if shard_lines is None:
            nshards = 1
        # Phase 3: a shard of several pieces is concatenated by a task; then all are renamed.
        finals = [out_path.format(i=i) if shard_lines is not None else out_path
                  for i in range(nshards)]
        shard_files: list[str] = [""] * nshards
        concat = {}
        for i in range(nshards):
            urls_i = [u for u, _ in pieces.get(i, [])]
            if len(urls_i) == 1:
                shard_files[i] = urls_i[0]
            else:  # several pieces, or an empty output (one empty file)
                concat[i] = client.submit(concatenate, urls_i, f"{job_url}/shard-{i:06d}",
                                          fsync, key=f"kexue-concat-{tag}-{i}", pure=False)
        futures = list(concat.values())
        for i, fut in concat.items():
            shard_files[i] = fut.result()
        futures = []
        # Publish: every shard is complete in the job directory; rename them into place.
        for i, url in enumerate(shard_files):
            src = out_fs._strip_protocol(url)
            staged.append((src, finals[i]))
        for src, final in staged:
            if local:
                if fsync and not src.rsplit("/", 1)[-1].startswith("shard-"):
                    _fsync_file(src)
                atomic.commit_temp(src, final, like=like, fsync=fsync)
            else:
                out_fs.mv(src, final)
        done = {out_fs._strip_protocol(f) for _, f in staged}
        for path in old:
            if out_fs._strip_protocol(path) not in done:
                out_fs.rm(path)
        return ClusterReport(
            lines=total_lines, bytes=int(nbytes.sum()),
            outputs=tuple(out_fs.unstrip_protocol(f) for _, f in staged),
            partitions=len(urls), buckets=k, large_buckets=large)
    except BaseException:
        if futures:
            with contextlib.suppress(Exception):
                client.cancel(futures)
        raise
    finally:
        with contextlib.suppress(Exception):
            out_fs.rm(job, recursive=True)
        if work != job:
            with contextlib.suppress(Exception):
                work_fs.rm(work, recursive=True)


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Discard:
    def write(self, data) -> int:
        return len(data)

    def flush(self) -> None:
        pass
