"""File primitives of ``kexue shuffle``: every write of an output or temporary file, and every
read of a temporary file, goes through these functions (one place for the error messages, and
one place for tests to inject failures such as a full disk)."""

from __future__ import annotations

import errno
import mmap
import os

__all__ = ["create", "pwrite_all", "preallocate", "pread_into", "anonymous", "named_enospc"]


def create(path: str, exclusive: bool = True) -> int:
    """Create ``path`` empty for reading and writing, readable by the owner only (mode 0600:
    bucket files hold the input's lines, often in a shared ``/tmp``); ``exclusive``: it must
    not exist yet (the default; the names are random)."""
    flags = os.O_RDWR | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    try:
        return os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as e:
        raise OSError(e.errno, f"cannot create temporary file {path!r}: {e.strerror}") from None


def named_enospc(e: OSError, name: str) -> OSError:
    """``e`` itself, or for a full disk an ``OSError(ENOSPC)`` that names the file."""
    if e.errno == errno.ENOSPC:
        return OSError(errno.ENOSPC, f"no space left on device writing {name!r}")
    return e


def pwrite_all(fd: int, data: memoryview | bytes, offset: int, name: str) -> None:
    """Write all of ``data`` at ``offset`` of ``fd`` (releases the GIL while the kernel copies)."""
    view = memoryview(data)
    while len(view):
        try:
            n = os.pwrite(fd, view, offset)
        except OSError as e:
            raise named_enospc(e, name) from e
        offset += n
        view = view[n:]


def preallocate(fd: int, length: int, name: str) -> bool:
    """Reserve disk blocks for the first ``length`` bytes of ``fd`` (size unchanged): writing
    into reserved blocks later costs the kernel less, and a disk that is too small fails now.
    False where the file system cannot (nothing is emulated)."""
    from kexue.data.shuffle.lines import preallocate as _preallocate

    try:
        return _preallocate(fd, length)
    except OSError as e:
        raise named_enospc(e, name) from e


def pread_into(fd: int, view: memoryview, offset: int) -> None:
    """Fill ``view`` from ``offset`` of ``fd``; a file that ends early is an error."""
    while len(view):
        n = os.preadv(fd, [view], offset)
        if n == 0:
            raise OSError(errno.EIO, "a temporary file of kexue shuffle was truncated")
        offset += n
        view = view[n:]


def anonymous(size: int) -> mmap.mmap:
    """A zeroed buffer of ``size`` bytes whose pages are only allocated when first touched and
    are returned to the system on ``close`` (unlike the C heap, which may keep freed memory).
    No transparent huge pages are requested: with the common ``defrag=madvise`` setting, that
    makes page faults wait for memory compaction (measured stalls of seconds)."""
    return mmap.mmap(-1, max(1, size), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
