"""kexue shuffle on compressed corpora: every format by content, same output as the
decompressed bytes, uniformity, compressed outputs and shards, truncated input."""

from __future__ import annotations

import bz2
import collections
import gzip
import io
import itertools
import lzma
import os
import sys

import numpy as np
import pytest
from scipy import stats

from kexue.cli.shuffle import main
from kexue.data import shuffle_files
from kexue.data.shuffle import LINE_OVERHEAD
from kexue.io import lines as L


def _zstd_compress(b: bytes) -> bytes:
    """zstd is an optional extra: only the zstd cases skip when it is not installed."""
    return pytest.importorskip("zstandard").ZstdCompressor().compress(b)

COMPRESS = {
    "gzip": lambda b: gzip.compress(b, mtime=0),
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": _zstd_compress,
}
DATA = b"".join(b"%05d %s\n" % (i, b"ab" * (i % 23)) for i in range(4000))


def lines_of(data: bytes) -> collections.Counter:
    return collections.Counter(data.split(b"\n")[:-1])


def shuffle_to_bytes(inputs, **kw) -> bytes:
    out = io.BytesIO()
    shuffle_files(inputs, out, **kw)
    return out.getvalue()


@pytest.mark.parametrize("codec", L.CODECS)
@pytest.mark.parametrize("memory", ["20K", "1M"])  # external (scatter) and in memory
def test_compressed_input_gives_the_lines_and_order_of_the_decompressed_bytes(
        tmp_path, codec, memory):
    src = tmp_path / "corpus.txt"  # compressed, named .txt: detected by content
    src.write_bytes(COMPRESS[codec](DATA))
    got = shuffle_to_bytes([src], memory=memory, seed=7, tmpdir=tmp_path)
    assert lines_of(got) == lines_of(DATA)
    # the same seed gives the order of the decompressed bytes read as a stream (stdin) ...
    assert got == shuffle_to_bytes([io.BytesIO(DATA)], memory=memory, seed=7, tmpdir=tmp_path)
    if memory == "1M":  # ... and, when it fits in memory, of the decompressed file
        plain = tmp_path / "plain.txt"
        plain.write_bytes(DATA)
        assert got == shuffle_to_bytes([plain], memory=memory, seed=7, tmpdir=tmp_path)
    assert got != DATA
    assert sorted(os.listdir(tmp_path)) in (["corpus.txt"], ["corpus.txt", "plain.txt"])


def test_compressed_input_from_stdin_and_mixed_inputs(tmp_path, monkeypatch, capsysbinary):
    cut = DATA.index(b"\n", 30000) + 1  # two files of whole lines
    a, b = DATA[:cut], DATA[cut:]
    (tmp_path / "a.xz").write_bytes(COMPRESS["xz"](a))
    (tmp_path / "b.txt").write_bytes(b)
    got = shuffle_to_bytes([tmp_path / "a.xz", tmp_path / "b.txt"], memory="16K", seed=1,
                           tmpdir=tmp_path)
    assert lines_of(got) == lines_of(DATA)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(COMPRESS["gzip"](DATA))))
    assert main(["-", "-o", "-", "-s", "3", "-m", "16K", "-T", str(tmp_path), "-q"]) == 0
    assert capsysbinary.readouterr().out == shuffle_to_bytes(
        [io.BytesIO(DATA)], memory="16K", seed=3, tmpdir=tmp_path)


def test_concatenated_gzip_members_are_shuffled_whole(tmp_path):
    src = tmp_path / "ab.gz"
    src.write_bytes(COMPRESS["gzip"](DATA[:20000]) + COMPRESS["gzip"](DATA[20000:]))
    got = shuffle_to_bytes([src], memory="16K", seed=2, tmpdir=tmp_path)
    assert lines_of(got) == lines_of(DATA)


@pytest.mark.parametrize("codec", L.CODECS)
def test_compressed_output_file_and_shards(tmp_path, codec):
    suffix = {"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz", "zstd": ".zst"}[codec]
    src = tmp_path / "in.txt"
    src.write_bytes(DATA)
    expect = shuffle_to_bytes([src], memory="20K", seed=4, tmpdir=tmp_path)
    out = tmp_path / f"out.txt{suffix}"
    shuffle_files([src], out, memory="20K", seed=4, tmpdir=tmp_path, level=1)
    assert L.file_codec(out) == codec and b"".join(L.read_lines(out)) == expect
    report = shuffle_files([src], str(tmp_path / ("part-{i:02d}.txt" + suffix)), memory="20K",
                           seed=4, tmpdir=tmp_path, shard_lines=1500)
    assert len(report.outputs) == 3
    parts = [b"".join(L.read_lines(p)) for p in report.outputs]
    assert all(L.file_codec(p) == codec for p in report.outputs)
    assert [len(lines_of(p)) for p in parts] == [1500, 1500, 1000]
    assert b"".join(parts) == expect
    leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".kexue-tmp")]
    assert leftovers == []


def test_compression_level_needs_a_compressed_output(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(DATA)
    with pytest.raises(ValueError, match="compression level"):
        shuffle_files([src], tmp_path / "out.txt", level=3)
    with pytest.raises(ValueError, match="level must be"):
        shuffle_files([src], tmp_path / "out.gz", level=11)
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]


@pytest.mark.parametrize("memory", ["20K", "1M"])
def test_truncated_gz_fails_naming_the_file_and_leaves_no_output(tmp_path, memory, capsys):
    whole = COMPRESS["gzip"](DATA)
    src = tmp_path / "cut.txt.gz"
    src.write_bytes(whole[: len(whole) * 2 // 3])
    for out in ("out.txt", "out.txt.gz", "part-{i}.txt"):
        args = [str(src), "-o", str(tmp_path / out), "-m", memory, "-s", "1", "-T",
                str(tmp_path), "-q"] + (["--shard-lines", "100"] if "{" in out else [])
        assert main(args) == 1
        err = capsys.readouterr().err
        assert "cut.txt.gz" in err and "truncated" in err and "byte" in err, err
        assert "Traceback" not in err
        assert sorted(os.listdir(tmp_path)) == ["cut.txt.gz"], "output or temp files left"


def test_external_path_is_exactly_uniform_for_gzip_input(tmp_path):
    lines = [b"a", b"b", b"c", b"d"]
    src = tmp_path / "in.gz"
    src.write_bytes(COMPRESS["gzip"](b"".join(x + b"\n" for x in lines)))
    memory = 2 * (2 + LINE_OVERHEAD) + 5  # fits two lines: buckets split again
    index = {p: i for i, p in enumerate(itertools.permutations(lines))}
    counts = np.zeros(len(index), dtype=np.int64)
    runs = 960  # 40 per order
    for seed in range(runs):
        out = shuffle_to_bytes([src], memory=memory, seed=seed, tmpdir=tmp_path)
        counts[index[tuple(out.split(b"\n")[:-1])]] += 1
    assert (counts > 0).all()
    p = stats.chisquare(counts).pvalue
    assert p > 1e-3, f"chi-square rejects uniformity (p={p:.2e}): {counts}"


@pytest.mark.parametrize("memory", ["64K", "4M"])  # external (scatter) and in memory
def test_parallel_decompression_gives_the_serial_output(tmp_path, memory, monkeypatch):
    """Several compressed inputs decompressed ahead on 1 or 3 threads: the same bytes as
    decompressing on the reading thread (``decompress_threads=0``), for file and shards."""
    from kexue.data.shuffle import reader

    started = []
    original = reader._Ahead.__init__

    def counting(self, source, limit):
        started.append(source.name)
        original(self, source, limit)

    monkeypatch.setattr(reader._Ahead, "__init__", counting)
    monkeypatch.setattr(reader._Ahead, "_PIECE", 4096)  # many pieces, full queues
    cuts = [0, 9000, 21000, 30000, 47000, len(DATA)]
    parts = [DATA[a:b] for a, b in zip(cuts, cuts[1:])]
    parts = [p[: p.rindex(b"\n") + 1] if i < 4 else p for i, p in enumerate(parts)]
    names = []
    for i, (part, codec) in enumerate(zip(parts, ["gzip", "bzip2", None, "xz", "gzip"])):
        names.append(tmp_path / f"in-{i}.txt")
        names[-1].write_bytes(COMPRESS[codec](part) if codec else part)
    outs = {}
    for threads in (0, 1, 3):
        started.clear()
        outs[threads] = shuffle_to_bytes(names, memory=memory, seed=5, tmpdir=tmp_path,
                                         decompress_threads=threads)
        assert len(started) == (4 if threads else 0)  # every compressed input, ahead
        out = tmp_path / f"part-{threads}-{{i}}.txt"
        shuffle_files(names, str(out), memory=memory, seed=5, tmpdir=tmp_path,
                      shard_lines=1000, decompress_threads=threads)
    assert lines_of(outs[0]) == lines_of(b"".join(parts))
    assert outs[1] == outs[0] and outs[3] == outs[0]
    for i in range(4):
        assert (tmp_path / f"part-1-{i}.txt").read_bytes() == (
            tmp_path / f"part-0-{i}.txt").read_bytes() == (
            tmp_path / f"part-3-{i}.txt").read_bytes()


def test_parallel_decompression_of_a_truncated_input_fails_cleanly(tmp_path, capsys):
    good = COMPRESS["gzip"](DATA)
    (tmp_path / "a.gz").write_bytes(good)
    (tmp_path / "b.gz").write_bytes(good[: len(good) // 2])
    (tmp_path / "c.gz").write_bytes(good)
    args = [str(tmp_path / n) for n in ("a.gz", "b.gz", "c.gz")]
    code = main(args + ["-o", str(tmp_path / "out.txt"), "-m", "64K", "-T", str(tmp_path),
                        "-q", "--decompress-threads", "3"])
    err = capsys.readouterr().err
    assert code == 1 and "b.gz" in err and "truncated" in err, err
    assert sorted(os.listdir(tmp_path)) == ["a.gz", "b.gz", "c.gz"]
    with pytest.raises(ValueError, match="decompress_threads"):
        shuffle_files(args[:1], tmp_path / "x.txt", decompress_threads=-1)
