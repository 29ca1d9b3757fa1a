"""`kexue shuffle`: the command line, stdin/stdout, exit codes, Ctrl-C / SIGTERM cleanup."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kexue.cli import commands
from kexue.cli.shuffle import main

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def lines_of(data: bytes) -> collections.Counter:
    assert data == b"" or data.endswith(b"\n")
    return collections.Counter(data.split(b"\n")[:-1])


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kexue", "shuffle", *args],
        input=stdin, capture_output=True, cwd=REPO, env=ENV, timeout=120,
    )


def test_listed_by_the_dispatcher():
    assert "shuffle" in commands()


def test_files_in_file_out(tmp_path, capsys):
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_bytes(b"".join(b"a%d\n" % i for i in range(500)))
    b.write_bytes(b"".join(b"b%d\n" % i for i in range(500)) + b"last")
    out = tmp_path / "out.txt"
    argv = [str(a), str(b), "-o", str(out), "--memory", "2K", "--seed", "5",
            "--tmpdir", str(tmp_path)]
    assert main(argv) == 0
    first = out.read_bytes()
    assert lines_of(first) == lines_of(a.read_bytes() + b.read_bytes() + b"\n")
    assert main(argv) == 0
    assert out.read_bytes() == first  # same seed and memory: same output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "out.txt"]


def test_stdin_to_stdout_and_zero_terminated():
    data = b"".join(b"line %d\r\n" % i for i in range(2000))
    proc = run_cli("-", "-o", "-", "--memory", "4K", "--seed", "1", stdin=data)
    assert proc.returncode == 0, proc.stderr
    assert lines_of(proc.stdout) == lines_of(data) and proc.stdout != data
    assert proc.stderr == b""  # no progress bar when stderr is not a terminal
    zdata = b"a\nb\0c\0d\0"
    proc = run_cli("-", "-o", "-", "-z", "--memory", "100", "--seed", "1", stdin=zdata)
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.split(b"\0")[:-1]) == [b"a\nb", b"c", b"d"]


def test_shards(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"".join(b"%05d\n" % i for i in range(1000)))
    assert main([str(src), "-o", str(tmp_path / "part-{i:02d}.txt"), "--shard-lines", "400",
                 "--memory", "1K", "--seed", "0", "--tmpdir", str(tmp_path)]) == 0
    parts = sorted(tmp_path.glob("part-*.txt"))
    assert [p.name for p in parts] == ["part-00.txt", "part-01.txt", "part-02.txt"]
    assert [len(lines_of(p.read_bytes())) for p in parts] == [400, 400, 200]
    assert sum((lines_of(p.read_bytes()) for p in parts), collections.Counter()) == lines_of(
        src.read_bytes()
    )
    assert main([str(src), "-o", str(tmp_path / "s"), "--shard-bytes", "2K"]) == 0
    assert sorted(p.name for p in tmp_path.glob("s-*")) == ["s-00000", "s-00001", "s-00002"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.txt", "-o", "out.txt"], "input not found: missing.txt"),
        (["sub", "-o", "out.txt"], "input sub is a directory"),
        (["in.txt", "-o", "out.txt", "--memory", "lots"], "invalid size 'lots'"),
        (["in.txt", "-o", "nodir/out.txt"], "output directory"),
        (["in.txt", "-o", "sub"], "output sub is a directory"),
        (["in.txt", "-o", "out.txt", "--tmpdir", "nodir"], "temporary directory"),
    ],
)
def test_errors_are_clear(tmp_path, monkeypatch, capsys, args, message):
    """What the arguments alone show wrong is a usage error (2), as in every kexue command
    (kexue/cli/_exitcodes.py); a directory given as the input used to exit 1."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_bytes(b"x\n")
    (tmp_path / "sub").mkdir()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "[Errno" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "sub"]


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["in.txt"])  # -o is required
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["in.txt", "-o", "x", "--shard-lines", "3", "--shard-bytes", "3"])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_removes_temporary_files_and_writes_nothing(tmp_path, sig):
    rng = np.random.default_rng(0)
    lens = rng.integers(5, 120, 600_000)
    body = np.full(int(lens.sum() + len(lens)), ord("z"), dtype=np.uint8)
    body[np.cumsum(lens + 1) - 1] = ord("\n")
    src = tmp_path / "in.txt"
    src.write_bytes(body.tobytes())  # ~38 MB; 64K budget: several passes, ~1 s of work
    work = tmp_path / "tmp"
    work.mkdir()
    out = tmp_path / "out.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kexue", "shuffle", str(src), "-o", str(out), "--memory", "64K",
         "--tmpdir", str(work)],
        cwd=REPO, env=ENV, stderr=subprocess.PIPE,
        # a shell's background job inherits SIGINT ignored, and Python then installs no
        # KeyboardInterrupt handler: give the child the default disposition, as a terminal does
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60

    def started() -> bool:  # the hidden output file (which holds the buckets) or a temp file
        return any(work.iterdir()) or any(tmp_path.glob(".out.txt.*"))

    while not started():  # wait until it is writing temporary files
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"interrupted" in err
    assert list(work.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "tmp"]


def test_closed_stdout_stops_quietly(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"".join(b"%07d\n" % i for i in range(1_000_000)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "kexue", "shuffle", str(src), "-o", "-", "--memory", "1M",
         "--tmpdir", str(tmp_path)],
        cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert len(proc.stdout.read(100)) == 100  # like `| head -c 100`
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141, err
    assert err == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]
