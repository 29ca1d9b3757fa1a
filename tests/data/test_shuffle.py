"""kexue.data.shuffle: uniformity (vs the article's two-phase method), edge cases, safety."""

from __future__ import annotations

import collections
import errno
import io
import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from kexue.data import ShuffleReport, shuffle_files
from kexue.data.shuffle import LINE_OVERHEAD, emit, fileio, reader
from kexue.data.shuffle import run as run_mod
from kexue.data.shuffle.lines import LineIndex

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def lines_of(data: bytes, sep: bytes = b"\n") -> collections.Counter:
    assert data == b"" or data.endswith(sep)
    return collections.Counter(data.split(sep)[:-1])


def shuffled(tmp_path: Path, data: bytes, memory, seed: int, **kw) -> tuple[bytes, ShuffleReport]:
    src = tmp_path / "in.txt"
    if not src.exists() or src.read_bytes() != data:
        write(src, data)
    out = io.BytesIO()
    report = shuffle_files([src], out, memory=memory, seed=seed, tmpdir=tmp_path, **kw)
    return out.getvalue(), report


# --------------------------------------------------------------------------- uniformity


def article_two_phase(lines: list[bytes], per_file: int, rng: np.random.Generator) -> list[bytes]:
    """Tiny reference of the article's method (spec section 1.1): consecutive chunks of
    ``per_file`` lines, each shuffled; then round i emits line i of every chunk, chunks in a
    fresh random order. Not uniform (the article says so)."""
    chunks = [lines[i : i + per_file] for i in range(0, len(lines), per_file)]
    chunks = [[c[j] for j in rng.permutation(len(c))] for c in chunks]
    out = []
    for i in range(per_file):
        for j in rng.permutation(len(chunks)):
            if i < len(chunks[j]):
                out.append(chunks[j][i])
    return out


def perm_counts(orders: list[tuple[bytes, ...]], lines: list[bytes]) -> np.ndarray:
    index = {p: i for i, p in enumerate(itertools.permutations(lines))}
    counts = np.zeros(len(index), dtype=np.int64)
    for o in orders:
        counts[index[o]] += 1
    return counts


LINES4 = [b"a", b"b", b"c", b"d"]
# The first budget fits 2 lines: some buckets go through memory, others are split again. The
# second fits one line only, so every line ends in a bucket of its own after recursion.
BUDGETS = [2 * (2 + LINE_OVERHEAD) + 5, 2 + LINE_OVERHEAD + 5]


@pytest.mark.parametrize("memory", BUDGETS)
def test_external_path_is_exactly_uniform_over_all_orders(tmp_path, memory):
    data = b"".join(x + b"\n" for x in LINES4)
    runs = 960  # 40 per order
    orders = []
    for seed in range(runs):
        out, report = shuffled(tmp_path, data, memory, seed)
        assert report.external and report.buckets >= 2
        orders.append(tuple(out.split(b"\n")[:-1]))
    counts = perm_counts(orders, LINES4)
    assert (counts > 0).all(), "every one of the 4! orders must be reachable"
    p = stats.chisquare(counts).pvalue
    assert p > 1e-3, f"chi-square rejects uniformity (p={p:.2e}): {counts}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"], "temporary files left"


def test_article_two_phase_method_fails_the_same_test():
    rng = np.random.default_rng(0)
    orders = [tuple(article_two_phase(LINES4, 2, rng)) for _ in range(960)]
    counts = perm_counts(orders, LINES4)
    # (m!)^n (n!)^m = 16 of the 24 orders, each 1/16 (spec section 1.1, checked numerically)
    assert (counts > 0).sum() == 16
    assert stats.chisquare(counts).pvalue < 1e-12
    # ... although every line's position is uniform (the article's marginal claim holds)
    pos = np.zeros((4, 4))
    for o in orders:
        for i, x in enumerate(o):
            pos[LINES4.index(x), i] += 1
    for row in pos:
        assert stats.chisquare(row).pvalue > 1e-3


def test_pairs_from_one_chunk_are_not_held_apart(tmp_path):
    """8 lines, 2 chunks of 4 in the article's method: the first two outputs can never come
    from the same chunk. Uniform: P = 2 * (4/8)(3/7) = 3/7. Our external path matches it."""
    lines = [f"{i}".encode() for i in range(8)]
    data = b"".join(x + b"\n" for x in lines)
    first_half = set(lines[:4])
    runs = 700
    same = 0
    for seed in range(runs):
        out, report = shuffled(tmp_path, data, 2 * (2 + LINE_OVERHEAD), seed)
        assert report.external
        a, b = out.split(b"\n")[:2]
        same += (a in first_half) == (b in first_half)
    assert stats.binomtest(same, runs, 3 / 7).pvalue > 1e-3
    rng = np.random.default_rng(1)
    art = sum(
        (o[0] in first_half) == (o[1] in first_half)
        for o in (article_two_phase(lines, 4, rng) for _ in range(runs))
    )
    assert art == 0


def test_positions_uniform_on_a_larger_input_with_multiple_passes(tmp_path):
    n = 24
    lines = [f"{i:02d}".encode() for i in range(n)]
    data = b"".join(x + b"\n" for x in lines)
    pos = np.zeros((n, n), dtype=np.int64)
    runs = 240
    deep = 0
    for seed in range(runs):
        out, report = shuffled(tmp_path, data, 3 * (3 + LINE_OVERHEAD) + 5, seed,
                               max_open_files=3)  # fits 3 lines
        deep = max(deep, report.passes)
        for i, x in enumerate(out.split(b"\n")[:-1]):
            pos[int(x), i] += 1
    assert deep >= 3
    # each line's final position: uniform over n slots (pooled chi-square over all lines)
    chi2 = (((pos - runs / n) ** 2) / (runs / n)).sum()
    dof = n * (n - 1)
    assert stats.chi2.sf(chi2, dof) > 1e-3


# --------------------------------------------------------------------------- behaviour


def test_in_memory_when_it_fits_and_external_otherwise(tmp_path):
    lines = [f"line {i}".encode() for i in range(1000)]
    data = b"".join(x + b"\n" for x in lines)
    out, report = shuffled(tmp_path, data, "1M", 3)
    assert not report.external and report.temp_files == 0 and report.passes == 0
    assert lines_of(out) == collections.Counter(lines)
    out2, report2 = shuffled(tmp_path, data, "4K", 3)
    assert report2.external and report2.lines == 1000 and report2.bytes == len(data)
    assert lines_of(out2) == collections.Counter(lines)
    assert out != data and out2 != data


def test_deterministic_given_seed_and_memory(tmp_path):
    data = b"".join(f"{i}\n".encode() for i in range(3000))
    a, _ = shuffled(tmp_path, data, "8K", 7)
    b, _ = shuffled(tmp_path, data, "8K", 7)
    c, _ = shuffled(tmp_path, data, "8K", 8)
    assert a == b and a != c
    d, _ = shuffled(tmp_path, data, "1M", 7)
    e, _ = shuffled(tmp_path, data, "1M", 7)
    assert d == e and lines_of(d) == lines_of(a)
    # background I/O threads never change the result (big enough to start them)
    big = b"".join(b"%06d\n" % i for i in range(300_000))
    f, rep = shuffled(tmp_path, big, "2M", 7)
    g, _ = shuffled(tmp_path, big, "2M", 7, threads=False)
    assert rep.external and f == g and lines_of(f) == lines_of(big)


EDGE = {
    "crlf": b"one\r\ntwo\r\n\r\nthree\r\n",
    "empty_lines": b"\n\n\na\n\nb\n\n",
    "no_final_newline": b"a\nb\nc",
    "non_utf8": b"\xff\xfe\x00x\n\x80\x81\n\xe4\xb8\xad\xe6\x96\x87\nplain\n\xc3\x28\n",
    "lone_cr": b"a\rb\nc\r\n\r\n",
    "only_newline": b"\n",
    "empty": b"",
    "long_line": b"x" * 100_000 + b"\nshort\n" + b"y" * 50_000,
}


@pytest.mark.parametrize("name", sorted(EDGE))
@pytest.mark.parametrize("memory", ["1M", 200])
def test_multiset_of_lines_is_kept(tmp_path, name, memory):
    data = EDGE[name]
    expected = data if data == b"" or data.endswith(b"\n") else data + b"\n"
    if name == "long_line" and memory == 200:  # lines beyond the budget are refused (issue 25)
        with pytest.raises(ValueError, match=r"line 1 is 100,001 bytes.*--memory 98K"):
            shuffled(tmp_path, data, memory, 0)
        return
    for seed in range(3):
        out, report = shuffled(tmp_path, data, memory, seed)
        assert lines_of(out) == lines_of(expected)
        assert report.bytes == len(expected)


def test_multiple_inputs_mix_as_one_corpus(tmp_path):
    a = write(tmp_path / "a.txt", b"a1\na2\na3")  # no final newline: must not glue to b1
    b = write(tmp_path / "b.txt", b"b1\nb2\n")
    c = write(tmp_path / "c.txt", b"")
    expected = collections.Counter([b"a1", b"a2", b"a3", b"b1", b"b2"])
    seen_first = set()
    for seed in range(40):
        out = io.BytesIO()
        shuffle_files([a, b, c], out, memory=150, seed=seed, tmpdir=tmp_path)
        assert lines_of(out.getvalue()) == expected
        seen_first.add(out.getvalue().split(b"\n")[0])
    assert seen_first == set(expected)  # b-lines reach the front: the inputs are mixed


@pytest.mark.parametrize("memory", ["4K", "64K"])
def test_threads_never_change_the_output(tmp_path, memory):
    # one line that nearly fills the 4K budget (a line over it is refused, issue 25)
    lines = [b"%d" % i for i in range(3000)] + [b"L" * 4000]
    src = write(tmp_path / "in.txt", b"".join(x + b"\n" for x in lines))
    outs = []
    for workers, threads in [(1, True), (2, True), (3, True), (2, False)]:
        out = tmp_path / f"out{len(outs)}.txt"
        rep = shuffle_files([src], out, memory=memory, seed=9, tmpdir=tmp_path, workers=workers,
                            threads=threads)
        assert rep.external and rep.lines == len(lines)
        outs.append(out.read_bytes())
    assert all(o == outs[0] for o in outs)
    assert lines_of(outs[0]) == collections.Counter(lines)
    # a stream output keeps its buckets in a temporary file instead: the same bytes
    stream, _ = shuffled(tmp_path, src.read_bytes(), memory, 9)
    assert stream == outs[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"] + [
        f"out{i}.txt" for i in range(4)]


def test_zero_terminated(tmp_path):
    data = b"a\nb\0c\0\0d"
    out, _ = shuffled(tmp_path, data, 100, 1, separator=b"\0")
    assert lines_of(out, b"\0") == collections.Counter([b"a\nb", b"c", b"", b"d"])


def test_output_equal_to_input_is_safe(tmp_path):
    src = write(tmp_path / "in.txt", b"".join(f"{i}\n".encode() for i in range(5000)))
    original = src.read_bytes()
    with open(src, "rb") as held:  # a reader holding the old file still sees the old bytes
        for memory in ["1M", "4K"]:
            shuffle_files([src], src, memory=memory, seed=0, tmpdir=tmp_path)
            assert lines_of(src.read_bytes()) == lines_of(original)
        assert held.read() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


def test_input_is_not_modified(tmp_path):
    src = write(tmp_path / "in.txt", b"x\ny\nz\n" * 100)
    before = (src.read_bytes(), src.stat().st_mtime_ns)
    shuffle_files([src], tmp_path / "out.txt", memory=300, seed=0, tmpdir=tmp_path)
    assert (src.read_bytes(), src.stat().st_mtime_ns) == before


def test_shards_by_lines_and_bytes(tmp_path):
    lines = [f"{i:04d}".encode() * (1 + i % 3) for i in range(1000)]
    src = write(tmp_path / "in.txt", b"".join(x + b"\n" for x in lines))
    rep = shuffle_files([src], tmp_path / "s-{i:03d}.txt", memory="8K", seed=0,
                        tmpdir=tmp_path, shard_lines=300)
    assert [Path(p).name for p in rep.outputs] == [f"s-{i:03d}.txt" for i in range(4)]
    got = [Path(p).read_bytes() for p in rep.outputs]
    assert [len(lines_of(g)) for g in got] == [300, 300, 300, 100]
    assert sum((lines_of(g) for g in got), collections.Counter()) == collections.Counter(lines)

    rep = shuffle_files([src], tmp_path / "b.txt", memory="1M", seed=0, shard_bytes=1000)
    got = [Path(p).read_bytes() for p in rep.outputs]
    assert all(len(g) <= 1000 for g in got) and all(len(g) > 1000 - 13 for g in got[:-1])
    assert sum((lines_of(g) for g in got), collections.Counter()) == collections.Counter(lines)
    assert Path(rep.outputs[0]).name == "b.txt-00000"


def test_bad_arguments(tmp_path):
    src = write(tmp_path / "in.txt", b"a\n")
    out = tmp_path / "out.txt"
    with pytest.raises(ValueError, match="invalid size"):
        shuffle_files([src], out, memory="12Q")
    with pytest.raises(ValueError, match="no inputs"):
        shuffle_files([], out)
    with pytest.raises(ValueError, match="seed"):
        shuffle_files([src], out, seed=-1)
    with pytest.raises(ValueError, match="at most one"):
        shuffle_files([src], out, shard_lines=2, shard_bytes=10)
    with pytest.raises(ValueError, match="separator"):
        shuffle_files([src], out, separator=b"ab")
    with pytest.raises(TypeError):
        shuffle_files([src], out, jobs=3)  # unknown keyword
    with pytest.raises(ValueError, match="workers"):
        shuffle_files([src], out, workers=0)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        shuffle_files([tmp_path / "missing.txt"], out)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        shuffle_files([tmp_path], out)
    with pytest.raises(FileNotFoundError, match="output directory"):
        shuffle_files([src], tmp_path / "no" / "out.txt")
    assert not out.exists()


def test_unreadable_input_midway_leaves_no_output(tmp_path, monkeypatch):
    src = write(tmp_path / "in.txt", b"".join(f"{i}\n".encode() for i in range(20000)))
    out = tmp_path / "out.txt"

    class Failing:
        def __init__(self, f):
            self.f, self.calls = f, 0

        def readinto(self, view):
            self.calls += 1
            if self.calls == 3:
                raise OSError(errno.EIO, "Input/output error")
            return self.f.readinto(view[:1000])

        def close(self):
            self.f.close()

    monkeypatch.setattr(reader.Source, "open", lambda self: Failing(open(self.spec, "rb")))
    with pytest.raises(OSError, match="cannot read input .*in.txt.*Input/output error"):
        shuffle_files([src], out, memory="2K", seed=0, tmpdir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


# --------------------------------------------------------------------------- disk full


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs when ``mount`` works (root); otherwise an ordinary directory plus a write
    hook that raises ENOSPC once 1 MiB has been written to files under it."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
        ).returncode
        == 0
        if hasattr(os, "geteuid") and os.geteuid() == 0
        else False
    )
    yield mnt, mounted
    if mounted and subprocess.run(["umount", str(mnt)]).returncode != 0:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def _inject_enospc(monkeypatch, directory: Path, limit: int) -> None:
    """Every write of an output or temporary file goes through ``fileio.pwrite_all``."""
    written = {"n": 0}
    real = fileio.pwrite_all

    def limited(fd, data, offset, name):
        if str(name).startswith(str(directory)):
            written["n"] += len(data)
            if written["n"] > limit:
                raise fileio.named_enospc(OSError(errno.ENOSPC, "No space left on device"),
                                          name)
        return real(fd, data, offset, name)

    monkeypatch.setattr(fileio, "pwrite_all", limited)


@pytest.mark.parametrize("where, workers", [("tmpdir", 2), ("output", 1), ("output", 2)])
def test_disk_full_gives_clear_error_and_no_partial_output(tmp_path, small_disk, monkeypatch,
                                                           where, workers):
    mnt, mounted = small_disk
    if not mounted:
        _inject_enospc(monkeypatch, mnt, 1 << 20)
    src = write(tmp_path / "in.txt", b"".join(b"%08d\n" % i for i in range(300_000)))  # 2.7 MB
    if where == "tmpdir":  # shards keep their buckets in temporary files (a single file: in itself)
        out, tmpdir, shards = tmp_path / "out-{i}.txt", mnt, 100_000
    else:
        out, tmpdir, shards = mnt / "out.txt", tmp_path, None
    with pytest.raises(OSError, match="[Nn]o space left on device") as info:
        shuffle_files([src], out, memory="256K", seed=0, tmpdir=tmpdir, workers=workers,
                      shard_lines=shards)
    assert info.value.errno == errno.ENOSPC
    assert list(mnt.iterdir()) == []  # no temporary files, no partial or temporary output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "small"]


# --------------------------------------------------------------------------- memory bound

# Peak memory of a shuffle run in a fresh interpreter, its worker processes included: a thread
# samples the summed PSS (proportional set size: shared pages split between the processes, so
# forked workers are not counted twice) of the process and its children every few ms.
_RSS_SCRIPT = """
import glob, sys, threading, time
from kexue.data import shuffle_files

def pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return sum(int(l.split()[1]) for l in f if l.startswith("Pss:")) * 1024
    except OSError:
        return 0

def tree():
    pids = ["self"]
    for path in glob.glob("/proc/self/task/*/children"):
        with open(path) as f:
            pids += f.read().split()
    return sum(pss(p) for p in pids)

peak, done = [0], threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], tree())
        time.sleep(0.003)
t = threading.Thread(target=sample)
t.start()
rep = shuffle_files([sys.argv[1]], sys.argv[2], memory=sys.argv[3], seed=0, tmpdir=sys.argv[4])
done.set()
t.join()
print(peak[0], rep.external)
"""


def _peak_rss(tmp_path: Path, src: Path, memory: str) -> tuple[int, bool]:
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(src), str(tmp_path / "out.txt"), memory,
         str(tmp_path)],
        capture_output=True, text=True, check=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    rss, external = proc.stdout.split()
    return int(rss), external == "True"


def test_peak_memory_stays_within_budget_on_a_file_ten_times_larger(tmp_path):
    rng = np.random.default_rng(0)
    lens = rng.integers(10, 200, 400_000)
    body = np.full(int(lens.sum() + len(lens)), ord("x"), dtype=np.uint8)
    body[np.cumsum(lens + 1) - 1] = ord("\n")
    src = write(tmp_path / "big.txt", body.tobytes())  # ~42 MB
    budget = 4 << 20
    assert src.stat().st_size >= 10 * budget
    base, ext0 = _peak_rss(tmp_path, write(tmp_path / "tiny.txt", b"a\nb\n"), "4M")
    peak, ext1 = _peak_rss(tmp_path, src, "4M")
    assert not ext0 and ext1
    mib = 1 << 20
    # fixed overhead: the scatter's read and staging buffers, one output block per thread,
    # thread stacks (measured 1.9 MiB over the budget at the time of writing)
    slack = 6 * mib
    assert peak - base <= budget + slack, f"peak {peak / mib:.1f} MiB, base {base / mib:.1f}"
    assert lines_of((tmp_path / "out.txt").read_bytes()) == lines_of(src.read_bytes())
    # the measurement can fail: the same file shuffled in memory costs far more than 8 MiB
    whole, ext2 = _peak_rss(tmp_path, src, "1G")
    assert not ext2 and whole - base > src.stat().st_size


def test_memory_model_constant_covers_the_line_index():
    """LINE_OVERHEAD covers what shuffling lines in memory allocates per line beyond their bytes
    (the line ends and the permutation; short lines are the worst case), measured with
    tracemalloc on the real code path (the bytes themselves live in an mmap buffer)."""
    import tracemalloc

    n = 100_000
    data = memoryview(b"".join(b"%07d\n" % i for i in range(n)))

    class Null:
        def write(self, data, nlines, sizes=None):
            pass

    block = memoryview(bytearray(64 << 10))
    tracemalloc.start()
    ends = LineIndex().ends(data, ord("\n"))
    emit.emit(data, ends, np.random.default_rng(0), Null(), block)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(ends) == n
    assert peak <= LINE_OVERHEAD * n + (64 << 10), peak / n
    assert peak >= 0.9 * LINE_OVERHEAD * n  # the constant is not pessimistic either


def test_progress_bar_goes_to_stderr_only_when_asked(tmp_path, capsys):
    src = write(tmp_path / "in.txt", b"".join(b"%d\n" % i for i in range(5000)))
    shuffle_files([src], tmp_path / "a.txt", memory="4K", seed=0, tmpdir=tmp_path)
    assert capsys.readouterr().err == ""
    shuffle_files([src], tmp_path / "b.txt", memory="4K", seed=0, tmpdir=tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "shuffle" in err and "100%" in err
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()


@pytest.mark.parametrize("max_open", [3, 16])
def test_fanout_and_open_files_stay_bounded(tmp_path, monkeypatch, max_open):
    src = write(tmp_path / "in.txt", b"".join(b"%05d\n" % i for i in range(20_000)))
    real = fileio.create
    base = len(os.listdir("/proc/self/fd"))
    seen = []

    def counting(path, exclusive=False):
        seen.append(len(os.listdir("/proc/self/fd")) - base)
        return real(path, exclusive)

    monkeypatch.setattr(fileio, "create", counting)
    for out in [tmp_path / "out.txt", tmp_path / "shard-{i}.txt"]:
        seen.clear()
        rep = shuffle_files([src], out, memory="2K", seed=0, tmpdir=tmp_path,
                            max_open_files=max_open, shard_lines=None if "{" not in out.name
                            else 5000)
        assert rep.buckets > 10 * max_open and rep.passes >= 2
        # buckets are regions of one file: the output, an input, and one overflow file per
        # scatter level in progress (a few), plus a shard being written
        assert max(seen) <= 2 * rep.passes + 4, (max(seen), rep.passes)


@pytest.mark.parametrize("slack", [0.0, -0.5])  # overflow in place; fresh output file
def test_small_regions_overflow_and_still_give_the_same_bytes(tmp_path, monkeypatch, slack):
    """Buckets that outgrow their region of the output file continue in an overflow file; when
    the output could then overwrite unread regions, it goes to a fresh file instead."""
    src = write(tmp_path / "in.txt", b"".join(b"%06d\n" % i for i in range(50_000)))
    want = tmp_path / "want.txt"
    shuffle_files([src], want, memory="64K", seed=3, tmpdir=tmp_path)
    monkeypatch.setattr(run_mod, "_REGION_SLACK", slack)
    monkeypatch.setattr(run_mod, "_REGION_EXTRA", 0)
    got = tmp_path / "got.txt"
    rep = shuffle_files([src], got, memory="64K", seed=3, tmpdir=tmp_path)
    assert rep.temp_files >= 1  # the overflow file
    assert got.read_bytes() == want.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["got.txt", "in.txt", "want.txt"]
