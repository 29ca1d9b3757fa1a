"""The package's one atomic file writer: every file kexue writes goes through here.

A file is written under a unique hidden temporary name in the target's own directory
(``.NAME.PID.RANDOM.kexue-tmp``, created exclusively, so no existing file is ever clobbered),
flushed to disk (``fsync``), given its final permissions and renamed over the target in one
step; the directory is then synced so the rename survives a power cut. On any error or
interruption (``KeyboardInterrupt`` and ``SystemExit`` included) the temporary file is removed
and the target is left exactly as it was, so a reader sees either the old file or the whole new
one, never a part. A process killed with SIGKILL cannot clean up: its temporary file stays, and
because the name carries the writer's process id, :func:`remove_stale_temps` (which the tools
call before writing the same target again) recognises and removes it once that process is gone.

Permissions: a replaced file keeps its mode; a new file gets the usual ``0o666 & ~umask``.
With ``like=INPUT`` the mode is further limited to ``INPUT``'s permission bits, so an output
never becomes more readable than the data it was made from (``kexue shuffle secret.txt -o
out.txt`` on a mode-600 input gives a mode-600 output).

A target that is a symbolic link is resolved first: the file it points to is replaced and the
link is kept.

:func:`atomic_directory` does the same for a directory of files (a model or a checkpoint):
everything is written into a temporary directory beside the target, which is renamed into
place only when the block completes.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import signal
import stat
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = [
    "TEMP_SUFFIX",
    "atomic_directory",
    "atomic_write",
    "check_writable",
    "commit_temp",
    "create_temp",
    "deferred_signals",
    "discard_temp",
    "output_mode",
    "pid_alive",
    "remove_stale_temps",
    "stale_temps",
    "write_bytes",
    "write_text",
]

PathLike = str | os.PathLike
#: Every temporary file or directory of the package ends with this suffix.
TEMP_SUFFIX = ".kexue-tmp"


def _resolve_target(path: PathLike) -> str:
    """``path`` made absolute with symbolic links resolved; its directory must exist."""
    final = os.path.realpath(os.fspath(path))
    directory = os.path.dirname(final)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"output directory {directory!r} does not exist")
    return final


def _temp_path(final: str) -> str:
    directory, base = os.path.split(final)
    return os.path.join(directory, f".{base}.{os.getpid()}.{os.urandom(4).hex()}{TEMP_SUFFIX}")


#: Errors that a write itself causes (as opposed to, say, a missing input read in the block).
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG, errno.EPIPE}


def _describe(e: OSError, action: str, path: str) -> OSError:
    """An ``OSError`` of the same class and errno whose message names ``path`` plainly
    (``e`` itself when it already does, or when its class is not a built-in one: such a class,
    e.g. :class:`kexue.io.lines.CompressedDataError`, writes its own message and may take
    other constructor arguments)."""
    if getattr(e, "kexue_described", False) or type(e).__module__ != "builtins":
        return e
    reason = "no space left on device" if e.errno == errno.ENOSPC else (e.strerror or str(e))
    err = type(e)(e.errno, f"cannot {action} {path!r}: {reason}")
    err.kexue_described = True  # type: ignore[attr-defined]
    return err


#: The signals a terminal or a job scheduler sends to stop a process.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the duration of the block; one that arrives meanwhile
    is raised again, with its own handler, when the block ends (``KeyboardInterrupt`` for
    Ctrl-C).

    Creating a temporary file and recording it where the clean-up will find it must happen as
    one step: an interrupt between the two would leave the file behind with nobody to remove
    it. Use it only around such short steps. Python runs signal handlers in the main thread
    only, so elsewhere (and for an ignored signal) it changes nothing. It works by handler
    swapping rather than ``pthread_sigmask``, because a signal sent to the process is
    delivered to any thread that does not block it (a reader or worker thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {}
    for signum in _STOP_SIGNALS:
        handler = signal.getsignal(signum)
        if handler in (signal.SIG_IGN, None):
            continue
        previous[signum] = signal.signal(signum, lambda n, _f: caught.append(n))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


def output_mode(final: PathLike, like: PathLike | Sequence[PathLike] | None = None) -> int:
    """Permission bits for a file about to be written at ``final``.

    The mode of the file being replaced, or ``0o666 & ~umask`` for a new one; with ``like``
    (one input path or several), limited to the permission bits every one of them has (never
    more readable than the inputs). The owner keeps the right to write."""
    try:
        mode = stat.S_IMODE(os.stat(final).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    if like is not None:
        likes = [like] if isinstance(like, str | bytes | os.PathLike) else list(like)
        for path in likes:
            mode &= stat.S_IMODE(os.stat(path).st_mode) | 0o200  # the owner may always rewrite
    return mode


def create_temp(path: PathLike) -> tuple[str, int]:
    """Create a fresh temporary file beside ``path`` (exclusively, mode 0600).

    Returns its name and an open read/write descriptor. Low-level: pair it with
    :func:`commit_temp` or :func:`discard_temp`; most code wants :func:`atomic_write`."""
    final = _resolve_target(path)
    if os.path.isdir(final):
        raise IsADirectoryError(errno.EISDIR, f"output {final!r} is a directory")
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = _temp_path(final)
        try:
            return tmp, os.open(tmp, flags, 0o600)
        except FileExistsError:
            continue
        except OSError as e:
            raise _describe(e, "write", final) from None
    raise FileExistsError(errno.EEXIST, f"cannot create a temporary file beside {final!r}")


def check_writable(path: PathLike) -> str:
    """Fail now if a file could not be written at ``path``; returns the resolved target.

    Call it before a long computation whose result goes to ``path``, so that a missing
    directory, a directory in the way, a read-only file system or a permission problem is
    reported at once instead of after the work. It creates (and at once removes) a temporary
    file beside ``path``; ``path`` itself is not touched. A disk that fills up later is still
    only found when writing (and then leaves nothing behind)."""
    final = _resolve_target(path)
    tmp, fd = create_temp(final)
    os.close(fd)
    discard_temp(tmp)
    return final


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse to sync a directory; the rename itself is done
    finally:
        os.close(fd)


def commit_temp(tmp: str, path: PathLike, *, like: PathLike | Sequence[PathLike] | None = None,
                fsync: bool = True) -> None:
    """Give the (closed, already synced) temporary file its final mode and rename it over
    ``path``; on failure the temporary file is removed and ``path`` is untouched."""
    final = _resolve_target(path)
    try:
        os.chmod(tmp, output_mode(final, like))
        os.replace(tmp, final)
    except BaseException as e:
        discard_temp(tmp)
        if isinstance(e, OSError):
            raise _describe(e, "write", final) from e
        raise
    if fsync:
        _fsync_directory(os.path.dirname(final))


def discard_temp(tmp: str) -> None:
    """Remove a temporary file or directory; a missing one is fine."""
    try:
        if os.path.isdir(tmp) and not os.path.islink(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.remove(tmp)
    except FileNotFoundError:
        pass


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (used to tell stale temporaries)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_temps(path: PathLike) -> list[str]:
    """Temporary files (or directories) of ``path`` left by writers that no longer run.

    They are recognised by name (``.NAME.PID.RANDOM.kexue-tmp``) and by their process id not
    being alive; another live writer's temporaries are never listed."""
    final = os.path.realpath(os.fspath(path))
    directory, base = os.path.split(final)
    prefix = f".{base}."
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    found = []
    for name in names:
        if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)):
            continue
        middle = name[len(prefix):-len(TEMP_SUFFIX)].split(".")
        if len(middle) != 2 or not middle[0].isdigit() or len(middle[1]) != 8:
            continue
        if not pid_alive(int(middle[0])):
            found.append(os.path.join(directory, name))
    return sorted(found)


def remove_stale_temps(path: PathLike) -> list[str]:
    """Remove what :func:`stale_temps` lists; returns the removed names."""
    removed = stale_temps(path)
    for tmp in removed:
        discard_temp(tmp)
    return removed


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb", *, encoding: str | None = None,
                 newline: str | None = None,
                 like: PathLike | Sequence[PathLike] | None = None,
                 fsync: bool = True) -> Iterator[IO[Any]]:
    """Open a file that replaces ``path`` atomically when the ``with`` block completes.

    ``mode`` is ``"wb"`` (bytes) or ``"w"`` (text; ``encoding`` defaults to UTF-8). The
    yielded object is a regular file object (``torch.save`` and ``json.dump`` accept it).
    If the block raises, or the process is interrupted, ``path`` is left untouched and no
    temporary file remains. ``like``: cap the permissions at this input file's
    (:func:`output_mode`). ``fsync=False`` skips the flushes to disk (faster, still atomic
    for readers, not durable across a power cut).

    Example::

        with atomic_write("lexicon.txt", "w") as f:
            for word, count in counts:
                f.write(f"{word}\\t{count}\\n")
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', not {mode!r}")
    if mode == "wb" and (encoding is not None or newline is not None):
        raise ValueError("encoding and newline are for text mode ('w')")
    final = _resolve_target(path)
    with deferred_signals():  # an interrupt now would orphan the temporary file
        tmp, fd = create_temp(final)
        try:
            raw = os.fdopen(fd, "wb", closefd=True)
        except BaseException:
            os.close(fd)
            discard_temp(tmp)
            raise
    f: IO[Any] = raw
    try:
        if mode == "w":
            f = io.TextIOWrapper(raw, encoding=encoding or "utf-8", newline=newline,
                                 write_through=False)
        try:
            yield f
        except OSError as e:
            if e.errno in _WRITE_ERRNOS and e.filename is None:
                raise _describe(e, "write", final) from e
            raise
        try:
            f.flush()
            if fsync:
                os.fsync(raw.fileno())
        except OSError as e:
            raise _describe(e, "write", final) from e
    except BaseException:
        with contextlib.suppress(OSError):
            f.close()
        discard_temp(tmp)
        raise
    try:
        f.close()
    except OSError as e:
        discard_temp(tmp)
        raise _describe(e, "write", final) from e
    commit_temp(tmp, final, like=like, fsync=fsync)


def write_bytes(path: PathLike, data: bytes | bytearray | memoryview, *,
                like: PathLike | None = None, fsync: bool = True) -> None:
    """Replace ``path`` atomically with ``data``."""
    with atomic_write(path, "wb", like=like, fsync=fsync) as f:
        f.write(data)


def write_text(path: PathLike, text: str, *, encoding: str = "utf-8",
               like: PathLike | None = None, fsync: bool = True) -> None:
    """Replace ``path`` atomically with ``text`` (newlines written as given)."""
    with atomic_write(path, "w", encoding=encoding, newline="", like=like, fsync=fsync) as f:
        f.write(text)


def _fsync_tree(root: str) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_directory(dirpath)


def _make_temp_dir(final: str) -> str:
    for _ in range(100):
        tmp = _temp_path(final)
        try:
            os.mkdir(tmp, 0o700)
            return tmp
        except FileExistsError:
            continue
        except OSError as e:
            raise _describe(e, "write", final) from None
    raise FileExistsError(errno.EEXIST, f"cannot create a temporary directory beside {final!r}")


@contextlib.contextmanager
def atomic_directory(path: PathLike, *, overwrite: bool = False,
                     fsync: bool = True) -> Iterator[Path]:
    """Build a directory that appears at ``path`` only when the ``with`` block completes.

    Yields a fresh temporary directory beside ``path`` to write into. On success it is
    renamed to ``path``; an existing ``path`` is an error unless ``overwrite``, in which case
    the old directory is replaced only after the new one is complete (it is moved aside, the
    new one renamed in, then the old one deleted). On error or interruption the temporary
    directory is removed and ``path`` is untouched."""
    final = _resolve_target(path)
    if os.path.exists(final):
        if not os.path.isdir(final):
            raise NotADirectoryError(errno.ENOTDIR,
                                     f"output {final!r} exists and is not a directory")
        if not overwrite:
            raise FileExistsError(errno.EEXIST,
                                  f"output directory {final!r} exists (pass overwrite=True)")
    with deferred_signals():  # an interrupt between mkdir and the try would orphan it
        tmp = _make_temp_dir(final)
    try:
        try:
            yield Path(tmp)
        except OSError as e:
            if e.errno in _WRITE_ERRNOS and e.filename is None:
                raise _describe(e, "write", final) from e
            raise
    except BaseException:
        discard_temp(tmp)
        raise
    old = None
    try:
        if fsync:
            _fsync_tree(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        if os.path.exists(final):
            old = _temp_path(final)
            os.rename(final, old)
        try:
            os.rename(tmp, final)
        except BaseException:
            if old is not None:
                os.rename(old, final)
                old = None
            raise
    except BaseException as e:
        discard_temp(tmp)
        if isinstance(e, OSError):
            raise _describe(e, "write", final) from e
        raise
    if old is not None:
        discard_temp(old)
    if fsync:
        _fsync_directory(os.path.dirname(final))
