"""kexue.io.lines: formats by content, concatenated members, truncated/corrupt data, writing."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os

import pytest

from kexue.io import lines as L


def _zstd_compress(b: bytes) -> bytes:
    """zstd is an optional extra: only the zstd cases skip when it is not installed."""
    return pytest.importorskip("zstandard").ZstdCompressor().compress(b)

DATA = b"".join(b"line %d \xe4\xb8\xad\xe6\x96\x87 %s\n" % (i, b"x" * (i % 37))
                for i in range(30000))
COMPRESS = {
    "gzip": lambda b: gzip.compress(b, mtime=0),
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": _zstd_compress,
}
SUFFIX = {"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz", "zstd": ".zst"}


def read_all(spec) -> bytes:
    return b"".join(L.read_lines(spec))


@pytest.mark.parametrize("codec", L.CODECS)
def test_each_format_is_read_by_content_whatever_the_name(tmp_path, codec):
    path = tmp_path / "corpus.txt"  # compressed, but named like a plain file
    path.write_bytes(COMPRESS[codec](DATA))
    assert L.file_codec(path) == codec
    assert read_all(path) == DATA
    assert read_all(io.BytesIO(path.read_bytes())) == DATA  # a stream (stdin) too


def test_plain_file_named_gz_is_read_as_it_is(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(DATA)
    assert L.file_codec(path) is None
    assert read_all(path) == DATA
    assert read_all(io.BytesIO(DATA)) == DATA
    for tiny in (b"", b"\x1f", b"ab"):  # shorter than any magic number
        assert read_all(io.BytesIO(tiny)) == tiny


@pytest.mark.parametrize("codec", L.CODECS)
def test_concatenated_members_are_read_whole(tmp_path, codec):
    a, b = DATA[: len(DATA) // 3], DATA[len(DATA) // 3:]
    path = tmp_path / "ab"
    path.write_bytes(COMPRESS[codec](a) + COMPRESS[codec](b))  # as `cat a.gz b.gz` makes
    assert read_all(path) == DATA
    if codec == "gzip":
        assert gzip.decompress(path.read_bytes()) == DATA  # the stdlib agrees


@pytest.mark.parametrize("codec", L.CODECS)
def test_truncated_input_names_the_file_and_the_offset(tmp_path, codec):
    whole = COMPRESS[codec](DATA)
    path = tmp_path / "cut.txt"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(L.CompressedDataError) as info:
        read_all(path)
    message = str(info.value)
    assert "cut.txt" in message and "truncated" in message
    assert f"byte {len(whole) // 2:,}" in message
    assert info.value.offset == len(whole) // 2


@pytest.mark.parametrize("codec", L.CODECS)
def test_corrupt_input_names_the_file_and_an_offset(tmp_path, codec):
    bad = bytearray(COMPRESS[codec](DATA))
    mid = len(bad) // 2
    bad[mid : mid + 8] = bytes(x ^ 0xA5 for x in bad[mid : mid + 8])
    path = tmp_path / "bad.txt"
    path.write_bytes(bytes(bad))
    with pytest.raises(L.CompressedDataError) as info:
        read_all(path)
    assert "bad.txt" in str(info.value) and "corrupt" in str(info.value)
    assert 0 < info.value.offset <= len(bad)


def test_trailing_garbage_after_a_member_is_an_error(tmp_path):
    path = tmp_path / "junk.gz"
    whole = COMPRESS["gzip"](DATA)
    path.write_bytes(whole + b"not gzip")
    with pytest.raises(L.CompressedDataError, match=f"at byte {len(whole):,}"):
        read_all(path)


@pytest.mark.parametrize("codec", L.CODECS)
def test_output_is_compressed_by_name_and_atomic(tmp_path, codec):
    out = tmp_path / f"out.txt{SUFFIX[codec]}"
    with L.open_output(out) as f:
        f.write(DATA[:1000])
        f.write(DATA[1000:])
    assert L.file_codec(out) == codec
    assert read_all(out) == DATA
    with pytest.raises(RuntimeError), L.open_output(out, level=1) as f:
        f.write(b"partial\n")
        raise RuntimeError("stop")
    assert read_all(out) == DATA  # the old file is untouched
    assert os.listdir(tmp_path) == [out.name]  # no temporary file left


def test_gzip_output_is_deterministic_and_levels_are_checked(tmp_path):
    a, b = tmp_path / "a.gz", tmp_path / "b.gz"
    for p in (a, b):
        with L.open_output(p, level=9) as f:
            f.write(DATA)
    assert a.read_bytes() == b.read_bytes()  # no time stamp in the header
    with pytest.raises(ValueError, match="level"):
        with L.open_output(tmp_path / "c.gz", level=10):
            pass
    with pytest.raises(ValueError, match="not compressed"):
        with L.open_output(tmp_path / "c.txt", level=3):
            pass
    assert sorted(os.listdir(tmp_path)) == ["a.gz", "b.gz"]


@pytest.mark.parametrize("codec", [None, "gzip"])
def test_named_pipe_is_read_once_by_content(tmp_path, codec):
    import threading

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    payload = DATA if codec is None else COMPRESS[codec](DATA)

    def feed():
        with open(fifo, "wb") as w:
            w.write(payload)

    t = threading.Thread(target=feed)
    t.start()
    assert L.file_codec(fifo) is None  # not opened: a second reader would steal the data
    assert read_all(fifo) == DATA
    t.join()
