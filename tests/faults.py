"""Fault-injection helpers for the tests: full disks, read-only targets, closed pipes, a full
stdout, SIGKILL at a chosen point, and in-process ``OSError`` injection.

Development and CI run as root, so ``chmod`` cannot make a path unwritable. Real faults are
made in a child process instead (``../shared/CONVENTIONS.md`` §5): ``unshare -m`` gives the
child a private mount namespace in which a small tmpfs (full disk) or a read-only remount is
set up; nothing is visible outside the child. Where mounts are not possible, the tests that
need them skip with the reason (:func:`require_mounts`), and :func:`inject_oserror` raises the
same ``OSError`` in-process at a chosen call.

Usage::

    from tests.faults import run_with_full_disk

    res = run_with_full_disk(["kexue", "words", "segment", "in.txt", "-o", "{mnt}/out.txt"],
                             size="64k", files={"in.txt": text})
    assert res.returncode != 0 and res.listing == []     # nothing half-written
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pytest

__all__ = [
    "FaultResult",
    "closed_pipe",
    "full_stdout",
    "inject_oserror",
    "mounts_available",
    "require_mounts",
    "run_with_full_disk",
    "run_with_readonly_dir",
    "sigkill_when",
]

#: The child runs with the repository on its path, so ``python -c`` snippets import kexue.
_REPO = Path(__file__).resolve().parents[1]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO), env.get("PYTHONPATH")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


@functools.cache
def mounts_available() -> bool:
    """True when this process may make a private mount namespace with a tmpfs in it."""
    if shutil.which("unshare") is None or sys.platform != "linux":
        return False
    with tempfile.TemporaryDirectory() as d:
        probe = subprocess.run(
            ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=16k tmpfs {shlex.quote(d)}"],
            capture_output=True, timeout=30,
        )
    return probe.returncode == 0


def require_mounts() -> None:
    """Skip the calling test, with the reason, where a real full disk or read-only mount
    cannot be made (no ``unshare``, not root, or a sandbox that forbids mounts)."""
    if not mounts_available():
        pytest.skip("cannot mount a tmpfs in a private namespace here (unshare -m); "
                    "the in-process OSError injection tests cover this path")


@dataclass
class FaultResult:
    """What a child run under a fault did: exit status, output, and the mount's contents
    afterwards (``listing``: relative paths of every file left in the mounted directory,
    hidden ones included, with their sizes in ``sizes``)."""

    returncode: int
    stdout: str
    stderr: str
    listing: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)


def _argv(cmd: Sequence[str] | str) -> list[str]:
    """A command as argv: a string is a Python snippet; ``kexue`` runs this checkout's CLI."""
    if isinstance(cmd, str):
        return [sys.executable, "-c", cmd]
    cmd = list(cmd)
    if cmd and cmd[0] == "kexue":
        return [sys.executable, "-m", "kexue", *cmd[1:]]
    return cmd


_LIST_SCRIPT = r"""
import os, sys, json, base64
root = sys.argv[1]
out = {}
for d, _, names in os.walk(root):
    for n in names:
        p = os.path.join(d, n)
        with open(p, "rb") as f:
            data = f.read(1 << 20)
        out[os.path.relpath(p, root)] = [os.path.getsize(p), base64.b64encode(data).decode()]
print(json.dumps(out))
"""


def _run_in_mount(cmd: Sequence[str] | str, mnt: str, size: str, arm: str,
                  files: dict[str, bytes | str], cwd: str | Path | None, timeout: float,
                  stdin: bytes | None) -> FaultResult:
    """In a private mount namespace: mount a tmpfs of ``size`` at ``mnt``, copy ``files`` in,
    run the shell command ``arm`` (the fault), then ``cmd``; list what the mount holds."""
    import base64
    import json

    # Files to place in the mount before the fault is armed, written by the namespace's shell.
    with tempfile.TemporaryDirectory() as stage:
        for name, data in files.items():
            p = Path(stage, name)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data.encode() if isinstance(data, str) else data)
        argv = [a.replace("{mnt}", mnt) for a in _argv(cmd)]
        lister = f"{shlex.quote(sys.executable)} -c {shlex.quote(_LIST_SCRIPT)} {shlex.quote(mnt)}"
        q = shlex.quote(mnt)
        script = (
            f"set -e; mount -t tmpfs -o size={size},mode=1777 tmpfs {q}; "
            f"for f in {shlex.quote(stage)}/*; do [ -e \"$f\" ] && cp -a \"$f\" {q}/; done; "
            f"{arm}; "
            f"set +e; {' '.join(shlex.quote(a) for a in argv)} "
            f"> {shlex.quote(stage)}/.stdout 2> {shlex.quote(stage)}/.stderr "
            f"{'< ' + shlex.quote(stage) + '/.stdin' if stdin is not None else '< /dev/null'}; "
            f"echo $? > {shlex.quote(stage)}/.rc; {lister} > {shlex.quote(stage)}/.listing"
        )
        if stdin is not None:
            Path(stage, ".stdin").write_bytes(stdin)
        proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                              timeout=timeout, cwd=cwd, env=_child_env())
        rc_file = Path(stage, ".rc")
        if not rc_file.exists():
            raise RuntimeError(f"fault harness failed: {proc.stderr.decode(errors='replace')}")
        listing = json.loads(Path(stage, ".listing").read_text() or "{}")
        return FaultResult(
            returncode=int(rc_file.read_text()),
            stdout=Path(stage, ".stdout").read_text(errors="replace"),
            stderr=Path(stage, ".stderr").read_text(errors="replace"),
            listing=sorted(listing),
            sizes={k: v[0] for k, v in listing.items()},
            contents={k: base64.b64decode(v[1]) for k, v in listing.items()},
        )


def run_with_full_disk(cmd: Sequence[str] | str, *, size: str = "64k",
                       files: dict[str, bytes | str] | None = None, fill: bool = False,
                       cwd: str | Path | None = None, timeout: float = 120,
                       stdin: bytes | None = None) -> FaultResult:
    """Run ``cmd`` with a tmpfs of ``size`` mounted at a fresh directory; ``{mnt}`` in the
    arguments (or the snippet) is replaced by that directory. ``files`` are copied into the
    tmpfs first (their size counts). ``fill=True`` then fills the remaining space, so the
    very first write fails. Returns the child's result and the files left in the tmpfs."""
    require_mounts()
    with tempfile.TemporaryDirectory() as mnt:
        arm = ":"
        if fill:
            filler = shlex.quote(f"{mnt}/.kexue-test-filler")
            arm = f"(dd if=/dev/zero of={filler} bs=4k 2>/dev/null || true)"
        if isinstance(cmd, str):
            cmd = cmd.replace("{mnt}", mnt)
        res = _run_in_mount(cmd, mnt, size, arm, files or {}, cwd, timeout, stdin)
        if fill:
            res.listing = [p for p in res.listing if p != ".kexue-test-filler"]
            res.sizes.pop(".kexue-test-filler", None)
            res.contents.pop(".kexue-test-filler", None)
        return res


def run_with_readonly_dir(cmd: Sequence[str] | str, *,
                          files: dict[str, bytes | str] | None = None,
                          cwd: str | Path | None = None, timeout: float = 120,
                          stdin: bytes | None = None) -> FaultResult:
    """Run ``cmd`` with a read-only directory at ``{mnt}`` holding ``files`` (a tmpfs
    remounted read-only after the files are copied in). Root cannot write there either."""
    require_mounts()
    with tempfile.TemporaryDirectory() as mnt:
        if isinstance(cmd, str):
            cmd = cmd.replace("{mnt}", mnt)
        arm = f"mount -o remount,ro {shlex.quote(mnt)}"
        return _run_in_mount(cmd, mnt, "8m", arm, files or {}, cwd, timeout, stdin)


def full_stdout(cmd: Sequence[str] | str, *, cwd: str | Path | None = None,
                timeout: float = 120, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` with its standard output on ``/dev/full`` (every write fails, ENOSPC)."""
    with open("/dev/full", "wb") as out:
        return subprocess.run(_argv(cmd), stdout=out, stderr=subprocess.PIPE, cwd=cwd,
                              env=_child_env(), timeout=timeout,
                              input=stdin, text=False)


def closed_pipe(cmd: Sequence[str] | str, *, read_bytes: int = 0, cwd: str | Path | None = None,
                timeout: float = 120, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` with its standard output on a pipe whose reader takes ``read_bytes`` bytes
    (possibly none) and then closes it, as ``cmd | head -c N`` does. The child must end by
    itself (EPIPE or SIGPIPE), not hang; ``stdout`` of the result holds what was read.
    A child that has written all its output before the reader closes never sees EPIPE (pipes
    here took a 20 MB write nobody read), so keep ``read_bytes=0`` (close at once, while the
    child is still starting) unless the child writes for long."""
    proc = subprocess.Popen(_argv(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            cwd=cwd, env=_child_env())
    if stdin is not None:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(stdin)
        proc.stdin.close()
    assert proc.stdout is not None and proc.stderr is not None
    got = proc.stdout.read(read_bytes) if read_bytes else b""
    proc.stdout.close()
    try:
        err = proc.stderr.read()
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, got, err)


def sigkill_when(cmd: Sequence[str] | str, announce: str | Callable[[str], bool], *,
                 cwd: str | Path | None = None, timeout: float = 300,
                 ) -> subprocess.CompletedProcess:
    """Run ``cmd`` and SIGKILL it as soon as it prints a line (on stdout) for which
    ``announce`` holds (a string: the line equals it after stripping). The child announces
    the point itself (flush after printing). Returns the lines read before the kill as
    ``stdout`` and ``returncode`` ``-9``; raises if the child ended before announcing."""
    match = (lambda line: line.strip() == announce) if isinstance(announce, str) else announce
    proc = subprocess.Popen(_argv(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, cwd=cwd, env=_child_env(), text=True)
    assert proc.stdout is not None and proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            seen.append(line)
            if match(line):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(seen),
                                                   proc.stderr.read())
            if time.monotonic() > deadline:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    raise AssertionError(f"the child ended without announcing the kill point "
                         f"(rc={proc.returncode}); stdout: {''.join(seen)[-2000:]!r}; "
                         f"stderr: {proc.stderr.read()[-2000:]!r}")


@contextlib.contextmanager
def inject_oserror(target: str, err: int = errno.ENOSPC, *, after: int = 0,
                   message: str | None = None) -> Iterator[mock.MagicMock]:
    """Make the callable at dotted path ``target`` (e.g. ``"kexue.io.atomic.os.fsync"`` or
    ``"os.write"``) raise ``OSError(err)`` from its ``after``-th call on (0: the first call);
    earlier calls run the real function. The in-process fallback where mounts are not
    possible, and the way to fail one precise step."""
    module_path, _, attr = target.rpartition(".")
    import importlib

    owner: object
    try:
        owner = importlib.import_module(module_path)
    except ModuleNotFoundError:
        parent, _, name = module_path.rpartition(".")
        owner = getattr(importlib.import_module(parent), name)
    real = getattr(owner, attr)
    calls = {"n": 0}

    def fake(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(err, message or os.strerror(err))
        return real(*args, **kwargs)

    with mock.patch.object(owner, attr, side_effect=fake) as m:
        yield m
