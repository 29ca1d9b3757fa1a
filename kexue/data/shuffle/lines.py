"""Lines as offsets: the compiled core (``_core.c``) behind a small typed API.

A buffer of whole lines (each ending with the separator) is described by one int64 array
``ends``: line ``i`` is ``data[ends[i-1]:ends[i]]`` with ``ends[-1]`` taken as 0. That costs
8 bytes a line (instead of a Python bytes object and a list slot per line), and the loops that
touch every byte run in C with the GIL released, so two threads can use two cores.
"""

from __future__ import annotations

import numpy as np

try:
    from kexue.data.shuffle import _core
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError(
        "kexue.data.shuffle._core (the compiled core of kexue shuffle) is missing: reinstall "
        "kexue so that it is built, e.g. `pip install -e .` in the repository (needs a C "
        f"compiler and the Python headers). Original error: {e}"
    ) from e

__all__ = ["LINE_OVERHEAD", "LineIndex", "find_ends", "gather", "preallocate", "line_sizes"]

#: Bytes of bookkeeping per line held in memory: its end in the ``ends`` array and its entry in
#: the permutation (int64 each). The memory cost of a set of lines is
#: ``bytes + LINE_OVERHEAD * lines`` (measured with tracemalloc in the tests).
LINE_OVERHEAD = 16


class LineIndex:
    """Finds the line ends of buffers, reusing one int64 array that grows as needed."""

    def __init__(self) -> None:
        self.array = np.empty(0, dtype=np.int64)

    def ends(self, data: memoryview, sep: int) -> np.ndarray:
        """The ends of the separators in ``data`` (a view of the reused array)."""
        n = _core.find(data, sep, self.array)
        if n > len(self.array):
            self.array = np.empty(n, dtype=np.int64)
            n = _core.find(data, sep, self.array)
        return self.array[:n]

    def reserve(self, n: int) -> np.ndarray:
        """The first ``n`` entries of the reused array (grown to hold them)."""
        if n > len(self.array):
            self.array = np.empty(n, dtype=np.int64)
        return self.array[:n]

    def release(self) -> None:
        """Drop the array (its memory goes back to the allocator)."""
        self.array = np.empty(0, dtype=np.int64)


def find_ends(data: memoryview, sep: int, out: np.ndarray) -> int:
    """The number of separators in ``data``; the ends of the first ``len(out)`` of them (index
    + 1, relative to ``data``) are stored in ``out``."""
    return _core.find(data, sep, out)


def gather(src: memoryview, ends: np.ndarray, order: np.ndarray,
           dst: memoryview) -> tuple[int, int]:
    """Copy the lines ``order`` of ``src`` (lines given by ``ends``) to the front of ``dst``
    while they fit; returns ``(lines copied, bytes copied)``."""
    return _core.gather(src, ends, order, dst)


def preallocate(fd: int, length: int) -> bool:
    """Reserve disk blocks for the first ``length`` bytes of ``fd`` (``fallocate``, keeping the
    size); False where the file system cannot."""
    return _core.preallocate(fd, length)


def line_sizes(ends: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Sizes (separator included) of the lines ``order``."""
    starts = np.where(order > 0, ends[np.maximum(order - 1, 0)], 0)
    return ends[order] - starts
