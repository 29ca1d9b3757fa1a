"""Streaming character n-gram counting (orders 1..4) with a bounded, prunable table.

The counting step of new-word discovery (https://kexue.fm/archives/4256,
https://kexue.fm/archives/6920): count every 1..n-gram of *word characters* (``str.isalnum``:
CJK ideographs, letters and digits, full-width ones included). Any other character (space,
punctuation, symbols) separates chunks, and no n-gram crosses it.

Implementation: characters get dense ids (1..65535, 0 is the separator) in first-seen order, so
an n-gram of order ≤ 4 packs into one ``uint64`` (16 bits a character). A block of text is
counted with NumPy (``np.unique`` over the packed keys), and per-order tables are kept as sorted
key arrays with ``int64`` counts, merged lazily (a pending block list is folded in when it grows
past the table), so memory is about 16 bytes per distinct n-gram instead of a Python dict's
~100. Characters beyond the 65,535th distinct one are treated as separators (documented limit;
Chinese text uses well under 30,000 distinct characters).

Memory bound: when the number of distinct n-grams of orders ≥ 2 exceeds ``max_ngrams``, entries
with a count below the current prune level are dropped and the level doubles until the table
fits in half the budget (lossy counting). A pruned n-gram seen again later restarts from zero,
so counts are lower bounds; ``prune_level`` records the level, and anything counted at least
``prune_level`` times before pruning is exact up to that level. Discovery raises its minimum
count to at least ``prune_level``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator

import numpy as np

__all__ = [
    "NgramCounter", "check_input_file", "decode_lines", "iter_lines", "iter_blocks",
    "CHUNK_PATTERN", "MAX_ORDER",
]

MAX_ORDER = 4
_BITS = 16
_MAX_CHARS = (1 << _BITS) - 1
CHUNK_PATTERN = re.compile(r"[^\W_]+")
"""A chunk: a maximal run of word characters (``str.isalnum``)."""


def check_input_file(path: str | os.PathLike) -> str:
    """``path`` as a string if it names a readable regular file; otherwise a clear error:
    ``IsADirectoryError`` for a directory, ``FileNotFoundError`` for a missing path."""
    p = os.fspath(path)
    if os.path.isdir(p):
        raise IsADirectoryError(f"{p} is a directory, not a text file")
    if not os.path.isfile(p):
        if os.path.lexists(p) and not os.path.exists(p):
            raise FileNotFoundError(f"{p} is a broken symbolic link")
        if os.path.exists(p):
            raise ValueError(f"{p} is not a regular file")
        raise FileNotFoundError(f"file not found: {p}")
    return p


def decode_lines(stream: Iterable[bytes], name: str) -> Iterator[str]:
    """Yield the lines of a binary stream decoded as strict UTF-8.

    Bad bytes raise ``ValueError`` naming ``name``, the line number and the byte offset (the
    same check for files and for standard input: nothing is ever decoded with replacement)."""
    offset = 0
    for lineno, raw in enumerate(stream, 1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{name}: line {lineno} is not valid UTF-8 (byte offset "
                f"{offset + err.start}: {err.reason}); convert the text to UTF-8"
            ) from None
        offset += len(raw)


def iter_lines(paths: Iterable[str | os.PathLike]) -> Iterator[str]:
    """Yield the lines of UTF-8 text files, streaming; bad bytes raise ``ValueError``.

    Files compressed with gzip, bzip2, xz or zstd are recognised by content and decompressed
    while reading (:mod:`kexue.io.lines`); the byte offset of a bad byte is then counted in
    the decompressed text.

    The error names the file, the line number and the byte offset of the bad byte. A missing
    file (``FileNotFoundError``) or a directory (``IsADirectoryError``) is reported before
    anything is read.
    """
    from kexue.io.lines import read_lines

    paths = [check_input_file(p) for p in paths]
    for p in paths:
        yield from decode_lines(read_lines(p, name=p), p)


def iter_blocks(lines: Iterable[str], block_chars: int = 1 << 22) -> Iterator[str]:
    """Group lines into blocks of about ``block_chars`` characters (lines stay whole and end
    with a newline, so no n-gram crosses a line break)."""
    buf: list[str] = []
    size = 0
    for line in lines:
        if not line.endswith("\n"):
            line += "\n"
        buf.append(line)
        size += len(line)
        if size >= block_chars:
            yield "".join(buf)
            buf, size = [], 0
    if buf:
        yield "".join(buf)


def _merge(keys: list[np.ndarray], counts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    k = np.concatenate(keys)
    c = np.concatenate(counts)
    if k.size == 0:
        return k, c
    order = np.argsort(k, kind="stable")
    k = k[order]
    c = c[order]
    starts = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    return k[starts], np.add.reduceat(c, starts)


class NgramCounter:
    """Counts of character n-grams of orders ``1..order`` over a stream of text.

    >>> nc = NgramCounter(order=2); nc.update("科学空间，科学")
    >>> nc.count("科学"), nc.total
    (2, 6)

    ``total`` is the number of word characters counted (the denominator of probabilities).
    """

    def __init__(self, order: int = MAX_ORDER, max_ngrams: int = 50_000_000) -> None:
        if not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
            raise ValueError(f"order must be an int in 1..{MAX_ORDER}, got {order!r}")
        if not isinstance(max_ngrams, int) or max_ngrams < 1000:
            raise ValueError(f"max_ngrams must be an int >= 1000, got {max_ngrams!r}")
        self.order = order
        self.max_ngrams = max_ngrams
        self.total = 0
        self.chars_seen = 0
        self.prune_level = 0
        self._char_ids: dict[int, int] = {}
        self._chars: list[str] = [""]
        self._lut = np.full(0x10000, -1, np.int64)  # code point -> id (-1: not seen yet)
        self._tables: list[tuple[np.ndarray, np.ndarray]] = [
            (np.zeros(0, np.uint64), np.zeros(0, np.int64)) for _ in range(order)
        ]
        self._pending: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(order)]
        self._pending_size = [0] * order

    # ----------------------------------------------------------------- character ids
    def _ids(self, text: str) -> np.ndarray:
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        if cps.size == 0:
            return np.zeros(0, np.int64)
        uniq = np.unique(cps)
        if int(uniq[-1]) >= self._lut.size:
            grown = np.full(max(int(uniq[-1]) + 1, 2 * self._lut.size), -1, np.int64)
            grown[: self._lut.size] = self._lut
            self._lut = grown
        unknown = uniq[self._lut[uniq] == -1]
        for cp in unknown.tolist():
            ch = chr(cp)
            if ch.isalnum() and ch != "_" and len(self._chars) <= _MAX_CHARS:
                self._lut[cp] = len(self._chars)
                self._chars.append(ch)
            else:
                self._lut[cp] = 0
        return self._lut[cps]

    def encode(self, text: str) -> np.ndarray:
        """Character ids of ``text`` (0 = separator); new characters get new ids."""
        return self._ids(text)

    def key(self, gram: str) -> int | None:
        """The packed key of ``gram`` or ``None`` if it has an unknown/non-word character."""
        k = 0
        for ch in gram:
            cp = ord(ch)
            if cp >= self._lut.size or self._lut[cp] <= 0:
                return None
            k = (k << _BITS) | int(self._lut[cp])
        return k

    def decode_key(self, key: int, n: int) -> str:
        """The string of a packed ``n``-gram key."""
        mask = (1 << _BITS) - 1
        return "".join(self._chars[(key >> (_BITS * (n - 1 - j))) & mask] for j in range(n))

    # ----------------------------------------------------------------- counting
    @staticmethod
    def window_keys(ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Packed keys of all length-``n`` windows of ``ids`` and whether each is valid.

        A window is valid when it holds no separator (id 0).
        """
        m = ids.size - n + 1
        if m <= 0:
            return np.zeros(0, np.uint64), np.zeros(0, bool)
        u = ids.astype(np.uint64)
        key = u[:m].copy()
        for j in range(1, n):
            key <<= np.uint64(_BITS)
            key |= u[j : j + m]
        zeros = np.concatenate(([0], np.cumsum(ids == 0)))
        valid = zeros[n : n + m] == zeros[:m]
        return key, valid

    def update(self, text: str) -> None:
        """Count the n-grams of one block of text."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        ids = self.encode(text)
        self.chars_seen += len(text)
        if ids.size == 0:
            return
        self.total += int(np.count_nonzero(ids))
        for n in range(1, self.order + 1):
            key, valid = self.window_keys(ids, n)
            key = key[valid]
            if key.size == 0:
                continue
            uk, uc = np.unique(key, return_counts=True)
            self._pending[n - 1].append((uk, uc.astype(np.int64)))
            self._pending_size[n - 1] += uk.size
            if self._pending_size[n - 1] > max(self._tables[n - 1][0].size, 1 << 20):
                self._fold(n)
        if self._size_estimate() > self.max_ngrams:
            self._prune()

    def _fold(self, n: int) -> None:
        pend = self._pending[n - 1]
        if not pend:
            return
        tk, tc = self._tables[n - 1]
        self._tables[n - 1] = _merge([tk] + [k for k, _ in pend], [tc] + [c for _, c in pend])
        self._pending[n - 1] = []
        self._pending_size[n - 1] = 0

    def _size_estimate(self) -> int:
        return sum(
            self._tables[i][0].size + self._pending_size[i] for i in range(1, self.order)
        )

    def _prune(self) -> None:
        for n in range(2, self.order + 1):
            self._fold(n)
        level = max(2, self.prune_level * 2)
        while True:
            size = 0
            for n in range(2, self.order + 1):
                k, c = self._tables[n - 1]
                keep = c >= level
                self._tables[n - 1] = (k[keep], c[keep])
                size += int(keep.sum())
            self.prune_level = level
            if size <= self.max_ngrams // 2:
                break
            level *= 2

    def finalize(self) -> None:
        """Fold every pending block into the tables (called by the readers below)."""
        for n in range(1, self.order + 1):
            self._fold(n)

    def table(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Sorted packed keys and counts of order ``n``."""
        if not 1 <= n <= self.order:
            raise ValueError(f"n must be in 1..{self.order}, got {n}")
        self._fold(n)
        return self._tables[n - 1]

    def lookup(self, n: int, keys: np.ndarray) -> np.ndarray:
        """Counts of packed order-``n`` keys (0 where absent), vectorised."""
        tk, tc = self.table(n)
        keys = np.asarray(keys, dtype=np.uint64)
        if tk.size == 0:
            return np.zeros(keys.shape, np.int64)
        pos = np.searchsorted(tk, keys)
        pos = np.minimum(pos, tk.size - 1)
        return np.where(tk[pos] == keys, tc[pos], 0)

    def count(self, gram: str) -> int:
        """Count of one n-gram string (0 if unseen or pruned)."""
        n = len(gram)
        if not 1 <= n <= self.order:
            raise ValueError(f"gram length must be in 1..{self.order}, got {n}")
        k = self.key(gram)
        if k is None:
            return 0
        return int(self.lookup(n, np.array([k], np.uint64))[0])

    def items(self, n: int, min_count: int = 1) -> Iterator[tuple[str, int]]:
        """``(gram, count)`` pairs of order ``n`` with count ≥ ``min_count``."""
        k, c = self.table(n)
        sel = c >= min_count
        for key, cnt in zip(k[sel].tolist(), c[sel].tolist()):
            yield self.decode_key(key, n), cnt

    def __len__(self) -> int:
        self.finalize()
        return sum(t[0].size for t in self._tables)
