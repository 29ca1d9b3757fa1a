"""``kexue shuffle`` under faults (issue 25, items 1-4 and 12).

Output modes (kept, never more readable than the inputs), the one atomic writer (full disk and
read-only targets leave nothing behind, unrelated files are never touched), shard sets refused
unless ``force``, stale temporaries of killed runs removed by the next run, and lines larger
than the memory budget refused before anything is written.
"""

from __future__ import annotations

import collections
import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kexue.data.shuffle import shuffle_files
from tests.faults import (
    closed_pipe,
    full_stdout,
    inject_oserror,
    run_with_full_disk,
    run_with_readonly_dir,
    sigkill_when,
)

REPO = Path(__file__).resolve().parents[2]
LINES = [b"line %05d %s" % (i, b"x" * (i % 37)) for i in range(4000)]
DATA = b"".join(x + b"\n" for x in LINES)  # ~ 110 KB


def _lines(data: bytes) -> collections.Counter:
    return collections.Counter(data.split(b"\n")[:-1])


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _write(p: Path, data: bytes, mode: int | None = None) -> Path:
    p.write_bytes(data)
    if mode is not None:
        os.chmod(p, mode)
    return p


# ---------------------------------------------------------------- item 1: modes


@pytest.mark.parametrize("memory", ["1M", "16K"])  # in memory, and external (regions)
def test_in_place_shuffle_keeps_a_private_mode(tmp_path, memory):
    src = _write(tmp_path / "p.txt", DATA, 0o600)
    shuffle_files([src], src, memory=memory, seed=0, tmpdir=tmp_path)
    assert _mode(src) == 0o600 and _lines(src.read_bytes()) == _lines(DATA)


def test_outputs_never_more_readable_than_inputs(tmp_path):
    old_umask = os.umask(0o022)
    try:
        a = _write(tmp_path / "a.txt", DATA, 0o640)
        b = _write(tmp_path / "b.txt", DATA, 0o604)
        out = tmp_path / "new.txt"
        shuffle_files([a, b], out, memory="16K", seed=0, tmpdir=tmp_path)
        assert _mode(out) == 0o600  # 0o644 (umask) & 0o640 & 0o604, owner may write
        existing = _write(tmp_path / "existing.txt", b"old\n", 0o640)
        pub = _write(tmp_path / "pub.txt", DATA, 0o644)
        shuffle_files([pub], existing, memory="1M", seed=0)
        assert _mode(existing) == 0o640  # the replaced file's mode is kept
        shuffle_files([a], tmp_path / "s-{i}.txt", memory="16K", seed=0, shard_lines=1500,
                      tmpdir=tmp_path)
        assert [_mode(tmp_path / f"s-{i}.txt") for i in range(3)] == [0o640] * 3
    finally:
        os.umask(old_umask)


def test_cli_in_place_keeps_mode(tmp_path):
    src = _write(tmp_path / "p.txt", DATA, 0o600)
    proc = subprocess.run([sys.executable, "-m", "kexue", "shuffle", str(src), "-o", str(src),
                           "--seed", "1", "--memory", "16K", "--tmpdir", str(tmp_path)],
                          capture_output=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert _mode(src) == 0o600


# ---------------------------------------------------------------- item 2: the atomic writer


def test_unrelated_files_beside_the_output_are_untouched(tmp_path):
    src = _write(tmp_path / "in.txt", DATA)
    for name in ("out.txt.tmp", ".out.txt.tmp", ".out.txt.1234abcd.kexue-tmp"):
        _write(tmp_path / name, b"keep me")
    shuffle_files([src], tmp_path / "out.txt", memory="16K", seed=0, tmpdir=tmp_path)
    for name in ("out.txt.tmp", ".out.txt.tmp", ".out.txt.1234abcd.kexue-tmp"):
        assert (tmp_path / name).read_bytes() == b"keep me"


@pytest.mark.parametrize("args", [[], ["--memory", "16K"], ["--shard-lines", "1000"]])
def test_full_disk_leaves_no_partial_output(args):
    res = run_with_full_disk(["kexue", "shuffle", "{mnt}/in.txt", "-o", "{mnt}/out.txt",
                              "--seed", "0", "--tmpdir", "{mnt}", *args],
                             size="160k", files={"in.txt": DATA})
    assert res.returncode == 1, res.stderr
    assert "no space left on device" in res.stderr and "Traceback" not in res.stderr
    assert res.listing == ["in.txt"]


def test_read_only_target_is_a_clean_error():
    res = run_with_readonly_dir(["kexue", "shuffle", "{mnt}/in.txt", "-o", "{mnt}/out.txt"],
                                files={"in.txt": DATA})
    assert res.returncode == 1 and "Read-only file system" in res.stderr
    assert "Traceback" not in res.stderr and res.listing == ["in.txt"]


def test_stdout_faults_are_clean(tmp_path):
    src = _write(tmp_path / "in.txt", DATA * 4)
    proc = full_stdout(["kexue", "shuffle", str(src), "-o", "-", "--seed", "0"])
    assert proc.returncode == 1 and b"cannot write standard output: no space left" in proc.stderr
    assert b"Traceback" not in proc.stderr
    # the reader closes at once (the child is still starting, so its first write hits EPIPE)
    proc = closed_pipe(["kexue", "shuffle", str(src), "-o", "-", "--seed", "0"])
    assert proc.returncode == 141 and b"Traceback" not in proc.stderr


# ---------------------------------------------------------------- item 3: shard sets


def test_existing_shard_set_is_refused_unless_force(tmp_path):
    src = _write(tmp_path / "in.txt", DATA)
    template = str(tmp_path / "d" / "p-{i}")
    (tmp_path / "d").mkdir()
    _write(tmp_path / "d" / "p-x", b"not a shard")
    rep = shuffle_files([src], template, memory="16K", seed=0, shard_lines=1000, tmpdir=tmp_path)
    assert len(rep.outputs) == 4
    small = _write(tmp_path / "small.txt", b"".join(x + b"\n" for x in LINES[:1500]))
    before = {p.name: p.read_bytes() for p in (tmp_path / "d").iterdir()}
    with pytest.raises(FileExistsError, match=r"4 shard file\(s\).*--force"):
        shuffle_files([small], template, memory="16K", seed=0, shard_lines=1000)
    assert {p.name: p.read_bytes() for p in (tmp_path / "d").iterdir()} == before
    rep = shuffle_files([small], template, memory="16K", seed=0, shard_lines=1000, force=True,
                        tmpdir=tmp_path)
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["p-0", "p-1", "p-x"]
    got = (tmp_path / "d" / "p-0").read_bytes() + (tmp_path / "d" / "p-1").read_bytes()
    assert _lines(got) == _lines(small.read_bytes())


def test_force_replaces_the_old_set_only_when_the_new_one_is_complete(tmp_path):
    src = _write(tmp_path / "in.txt", DATA)
    template = str(tmp_path / "p-{i:03d}.txt")
    shuffle_files([src], template, memory="1M", seed=0, shard_lines=1000)
    before = {p.name: p.read_bytes() for p in tmp_path.glob("p-*")}
    small = _write(tmp_path / "small.txt", b"".join(x + b"\n" for x in LINES[:2500]))
    with inject_oserror("os.pwrite", errno.ENOSPC, after=1):
        with pytest.raises(OSError, match="no space left"):
            shuffle_files([small], template, memory="1M", seed=0, shard_lines=1000, force=True)
    assert {p.name: p.read_bytes() for p in tmp_path.glob("p-*")} == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".kexue-tmp")]


def test_cli_force(tmp_path):
    src = _write(tmp_path / "in.txt", DATA)
    argv = [sys.executable, "-m", "kexue", "shuffle", str(src), "-o", str(tmp_path / "s-{i}"),
            "--shard-lines", "1000", "--seed", "0"]
    assert subprocess.run(argv, capture_output=True, cwd=REPO).returncode == 0
    proc = subprocess.run(argv, capture_output=True, cwd=REPO, text=True)
    assert proc.returncode == 1 and "--force" in proc.stderr and "Traceback" not in proc.stderr
    assert subprocess.run(argv + ["--force"], capture_output=True, cwd=REPO).returncode == 0


# ---------------------------------------------------------------- item 4: stale temporaries

_KILL_SNIPPET = r"""
import sys
from kexue.data.shuffle import fileio, shuffle_files
real = fileio.pwrite_all
calls = [0]
def announcing(fd, data, offset, name):
    real(fd, data, offset, name)
    calls[0] += 1
    if calls[0] == 3:
        print("KILL-ME", flush=True)
        import time
        time.sleep(60)
fileio.pwrite_all = announcing
shuffle_files([sys.argv[1]], sys.argv[2], memory="16K", seed=0, tmpdir=sys.argv[3],
              shard_lines=int(sys.argv[4]) or None)
"""


@pytest.mark.parametrize("shards", [0, 1000])
def test_sigkill_leftovers_are_removed_by_the_next_run(tmp_path, shards):
    src = _write(tmp_path / "in.txt", DATA)
    work = tmp_path / "tmp"
    work.mkdir()
    out = tmp_path / ("out-{i}.txt" if shards else "out.txt")
    sigkill_when([sys.executable, "-c", _KILL_SNIPPET, str(src), str(out), str(work),
                  str(shards)], "KILL-ME", cwd=REPO)
    left = [p.name for p in tmp_path.iterdir() if p.name.endswith(".kexue-tmp")]
    left += [p.name for p in work.iterdir()]
    assert left, "the killed run left no temporary file (the test did not kill mid-write)"
    assert all(n.endswith(".kexue-tmp") for n in left)
    in_tmpdir = [p.name for p in work.iterdir()]
    assert all(n.startswith("kexue-shuffle-") for n in in_tmpdir)  # recognisable names
    rep = shuffle_files([src], out, memory="16K", seed=0, tmpdir=work,
                        shard_lines=shards or None)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".kexue-tmp")]
    assert list(work.iterdir()) == []
    got = b"".join(Path(p).read_bytes() for p in rep.outputs)
    assert _lines(got) == _lines(DATA)


def test_live_writers_temporaries_are_kept(tmp_path):
    src = _write(tmp_path / "in.txt", DATA)
    live = tmp_path / f".out.txt.{os.getppid()}.0123abcd.kexue-tmp"  # a running process
    _write(live, b"busy")
    shuffle_files([src], tmp_path / "out.txt", memory="16K", seed=0, tmpdir=tmp_path)
    assert live.read_bytes() == b"busy"


# ---------------------------------------------------------------- item 12: huge lines


def test_line_larger_than_the_budget_is_refused_before_anything_is_written(tmp_path):
    data = b"a\nb\n" + b"L" * 300_000 + b"\nc\n"
    src = _write(tmp_path / "in.txt", data)
    out = tmp_path / "out.txt"
    with pytest.raises(ValueError) as info:
        shuffle_files([src], out, memory="64K", seed=0, tmpdir=tmp_path)
    msg = str(info.value)
    assert "line 3 is 300,001 bytes" in msg and "--memory 293K" in msg, msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]
    # the suggested budget takes it
    shuffle_files([src], out, memory="293K", seed=0, tmpdir=tmp_path)
    assert _lines(out.read_bytes()) == _lines(data)


def test_huge_line_is_refused_without_reading_it_into_memory(tmp_path):
    """The campaign: one 300 MB line with --memory 64M peaked at 568 MB. Scaled down: a 48 MB
    line with a 1 MB budget must be refused while the process stays far below the line."""
    src = tmp_path / "in.txt"
    with open(src, "wb") as f:
        f.write(b"short\n" * 100)
        for _ in range(48):
            f.write(b"x" * (1 << 20))
        f.write(b"\nend\n")
    code = ("import resource, sys\n"
            "from kexue.data.shuffle import shuffle_files\n"
            "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "try:\n"
            "    shuffle_files([sys.argv[1]], sys.argv[2], memory='1M', seed=0,\n"
            "                  tmpdir=sys.argv[3])\n"
            "except ValueError as e:\n"
            "    print(e)\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(src), str(tmp_path / "out.txt"),
                           str(tmp_path)], capture_output=True, text=True, cwd=REPO, check=True)
    msg, grew = proc.stdout.strip().splitlines()
    assert "line 101 is 50,331,649 bytes" in msg and "--memory 49M" in msg, msg
    assert int(grew) < 16 * 1024, f"peak grew by {int(grew) / 1024:.0f} MiB"  # KiB
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


def test_line_numbers_count_within_each_input(tmp_path):
    a = _write(tmp_path / "a.txt", b"1\n2\n3")  # no final newline: the inputs never glue
    b = _write(tmp_path / "b.txt", b"x\n" + b"y" * 5000 + b"\n")
    with pytest.raises(ValueError, match=r"b\.txt': line 2 is 5,001 bytes"):
        shuffle_files([a, b], tmp_path / "out.txt", memory="2K", seed=0, tmpdir=tmp_path)
    with pytest.raises(ValueError, match=r"b\.txt': line 2 is 5,001 bytes"):
        shuffle_files([a, b], tmp_path / "out.txt", memory="4K", seed=0, tmpdir=tmp_path)


def test_bucket_files_in_tmpdir_are_private(tmp_path, monkeypatch):
    """A sibling of item 1: bucket files hold the input's lines, often in a shared /tmp."""
    from kexue.data.shuffle import fileio

    src = _write(tmp_path / "in.txt", DATA, 0o600)
    work = tmp_path / "tmp"
    work.mkdir()
    modes = []
    real = fileio.create

    def spy(path, *args, **kwargs):
        fd = real(path, *args, **kwargs)
        modes.append(_mode(Path(path)))
        return fd

    monkeypatch.setattr(fileio, "create", spy)
    old = os.umask(0o022)
    try:
        shuffle_files([src], tmp_path / "s-{i}", memory="16K", seed=0, tmpdir=work,
                      shard_lines=1000)
    finally:
        os.umask(old)
    assert modes and set(modes) == {0o600}
