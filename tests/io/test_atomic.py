"""The atomic writer: replace-or-nothing, modes, stale temporaries, and real faults."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys

import pytest

from kexue.io.atomic import (
    TEMP_SUFFIX,
    atomic_directory,
    atomic_write,
    deferred_signals,
    output_mode,
    remove_stale_temps,
    stale_temps,
    write_bytes,
    write_text,
)
from kexue.io.lines import CompressedDataError
from tests.faults import inject_oserror, run_with_full_disk, run_with_readonly_dir, sigkill_when


def _entries(d):
    return sorted(os.listdir(d))


def test_writes_and_replaces(tmp_path):
    p = tmp_path / "a.txt"
    write_text(p, "one\n")
    assert p.read_text() == "one\n"
    write_bytes(p, b"two")
    assert p.read_bytes() == b"two"
    assert _entries(tmp_path) == ["a.txt"]


def test_text_mode_encoding_and_newline(tmp_path):
    p = tmp_path / "t.txt"
    with atomic_write(p, "w") as f:
        f.write("科学\n")
    assert p.read_bytes() == "科学\n".encode()
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(p, "a"):
            pass
    with pytest.raises(ValueError, match="text mode"):
        with atomic_write(p, "wb", encoding="utf-8"):
            pass


def test_error_in_block_keeps_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(p, "w") as f:
            f.write("partial")
            raise RuntimeError("boom")
    assert p.read_text() == "old"
    assert _entries(tmp_path) == ["a.txt"]


def test_keyboard_interrupt_cleans_up(tmp_path):
    p = tmp_path / "a.txt"
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(p) as f:
            f.write(b"x")
            raise KeyboardInterrupt
    assert _entries(tmp_path) == []


def test_unrelated_oserror_in_block_is_not_reworded(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        with atomic_write(tmp_path / "out"):
            open(tmp_path / "missing-input")
    assert "missing-input" in str(info.value)
    assert _entries(tmp_path) == []


def test_existing_unrelated_tmp_file_is_never_touched(tmp_path):
    # The old writers used a fixed "NAME.tmp" and deleted it (hardening item 2).
    p = tmp_path / "lex.txt"
    (tmp_path / "lex.txt.tmp").write_text("precious")
    write_text(p, "new")
    assert (tmp_path / "lex.txt.tmp").read_text() == "precious"


def test_mode_of_replaced_file_is_kept(tmp_path):
    p = tmp_path / "secret.txt"
    p.write_text("x")
    os.chmod(p, 0o600)
    write_text(p, "y")
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    os.chmod(p, 0o640)
    write_text(p, "z")
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640


def test_new_file_follows_umask_and_like_caps_it(tmp_path):
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "n.txt", "x")
        assert stat.S_IMODE(os.stat(tmp_path / "n.txt").st_mode) == 0o644
        src = tmp_path / "in.txt"
        src.write_text("data")
        os.chmod(src, 0o600)
        write_text(tmp_path / "out.txt", "x", like=src)
        assert stat.S_IMODE(os.stat(tmp_path / "out.txt").st_mode) == 0o600
        assert output_mode(tmp_path / "other", like=src) == 0o600
    finally:
        os.umask(old)


def test_symlink_target_is_replaced_link_kept(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_missing_directory_and_directory_target(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_text(tmp_path / "no" / "x.txt", "x")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        write_text(tmp_path, "x")


def test_fsync_failure_is_named_and_cleaned(tmp_path):
    p = tmp_path / "a.bin"
    p.write_bytes(b"old")
    with inject_oserror("kexue.io.atomic.os.fsync", errno.ENOSPC):
        with pytest.raises(OSError, match="no space left on device") as info:
            write_bytes(p, b"new")
    assert info.value.errno == errno.ENOSPC and "a.bin" in str(info.value)
    assert p.read_bytes() == b"old" and _entries(tmp_path) == ["a.bin"]


def test_stale_temps_of_dead_writers_only(tmp_path):
    p = tmp_path / "out.txt"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".out.txt.{dead}.0123abcd{TEMP_SUFFIX}"
    live = tmp_path / f".out.txt.{os.getpid()}.0123abcd{TEMP_SUFFIX}"
    other = tmp_path / f".other.txt.{dead}.0123abcd{TEMP_SUFFIX}"
    for f in (stale, live, other):
        f.write_text("x")
    assert stale_temps(p) == [str(stale)]
    assert remove_stale_temps(p) == [str(stale)]
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, other.name])


def test_atomic_directory(tmp_path):
    d = tmp_path / "model"
    with atomic_directory(d) as tmp:
        (tmp / "config.json").write_text("{}")
        assert not d.exists()
    assert _entries(d) == ["config.json"]
    with pytest.raises(FileExistsError, match="overwrite"):
        with atomic_directory(d):
            pass
    with pytest.raises(RuntimeError):
        with atomic_directory(d, overwrite=True) as tmp:
            (tmp / "weights").write_text("half")
            raise RuntimeError
    assert _entries(d) == ["config.json"] and _entries(tmp_path) == ["model"]
    with atomic_directory(d, overwrite=True) as tmp:
        (tmp / "weights").write_text("whole")
    assert _entries(d) == ["weights"] and _entries(tmp_path) == ["model"]


_WRITER = (
    "import sys\n"
    "from kexue.io.atomic import atomic_write\n"
    "with atomic_write(sys.argv[1]) as f:\n"
    "    for _ in range(64):\n"
    "        f.write(b'x' * 4096)\n"
)


def test_real_full_disk_leaves_old_file_and_no_temp():
    res = run_with_full_disk([sys.executable, "-c", _WRITER, "{mnt}/out.bin"], size="64k",
                             files={"out.bin": b"old"})
    assert res.returncode != 0
    assert "no space left on device" in res.stderr and "out.bin" in res.stderr
    assert res.listing == ["out.bin"] and res.contents["out.bin"] == b"old"


def test_real_readonly_target_is_named():
    res = run_with_readonly_dir([sys.executable, "-c", _WRITER, "{mnt}/out.bin"])
    assert res.returncode != 0
    assert "out.bin" in res.stderr and "Read-only file system" in res.stderr
    assert res.listing == []


def test_sigkill_mid_write_keeps_old_file_and_next_writer_cleans(tmp_path):
    p = tmp_path / "out.bin"
    p.write_bytes(b"old")
    code = (
        "import sys\n"
        "from kexue.io.atomic import atomic_write\n"
        "with atomic_write(sys.argv[1]) as f:\n"
        "    f.write(b'new' * 1000); f.flush()\n"
        "    print('written', flush=True)\n"
        "    import time; time.sleep(60)\n"
    )
    res = sigkill_when([sys.executable, "-c", code, str(p)], "written")
    assert res.returncode == -9
    assert p.read_bytes() == b"old"
    leftovers = [n for n in os.listdir(tmp_path) if n.endswith(TEMP_SUFFIX)]
    assert len(leftovers) == 1
    assert remove_stale_temps(p) == [str(tmp_path / leftovers[0])]
    assert _entries(tmp_path) == ["out.bin"]


def test_check_writable_reports_bad_outputs_before_the_work(tmp_path):
    from kexue.io.atomic import check_writable

    assert check_writable(tmp_path / "new.txt") == str(tmp_path / "new.txt")
    assert _entries(tmp_path) == []  # the probe leaves nothing
    with pytest.raises(FileNotFoundError, match="output directory"):
        check_writable(tmp_path / "missing" / "x.txt")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        check_writable(tmp_path)
    res = run_with_readonly_dir(
        [sys.executable, "-c", "import sys; from kexue.io.atomic import check_writable; "
         "check_writable(sys.argv[1])", "{mnt}/out.txt"])
    assert res.returncode != 0 and "Read-only file system" in res.stderr
    assert "out.txt" in res.stderr and res.listing == []


def test_output_mode_is_capped_by_every_input(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("a")
    b.write_text("b")
    os.chmod(a, 0o640)
    os.chmod(b, 0o604)
    old = os.umask(0o022)
    try:
        assert output_mode(tmp_path / "new", like=[a, b]) == 0o600
        assert output_mode(tmp_path / "new", like=a) == 0o640
        assert output_mode(tmp_path / "new", like=[]) == 0o644
    finally:
        os.umask(old)


def test_deferred_signals_holds_an_interrupt_until_the_block_ends():
    # an interrupt that arrives between creating a temporary file and recording it must wait
    reached_end = False
    with pytest.raises(KeyboardInterrupt):
        with deferred_signals():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # plenty of bytecode boundaries where a handler would run
                pass
            reached_end = True
    assert reached_end


def test_an_own_error_class_from_the_block_passes_through_unchanged(tmp_path):
    # a read error of a compressed input (errno EIO) is not a write error of the output, and
    # its class takes other constructor arguments: it must come out as it went in
    target = tmp_path / "out"
    err = CompressedDataError("in.gz", "gzip", 17, "is truncated")
    with pytest.raises(CompressedDataError) as info:
        with atomic_write(target) as f:
            f.write(b"x")
            raise err
    assert info.value is err and info.value.offset == 17
    assert list(tmp_path.iterdir()) == []
