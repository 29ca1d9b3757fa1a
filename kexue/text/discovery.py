"""Unsupervised new-word discovery by n-gram cohesion, cutting and back-tracking.

The "better new-word discovery" algorithm of https://kexue.fm/archives/4256 in the fast form of
https://kexue.fm/archives/6920 (repo bojone/word-discovery), on top of the minimum-entropy view
of https://kexue.fm/archives/5476:

1. **count** all character n-grams of orders 1..4 (:class:`kexue.text.ngrams.NgramCounter`);
2. **filter**: an n-gram ``w`` (n ≥ 2, count ≥ ``min_count``) is *cohesive* when

       ln min_{split w = (a, b)}  total · c(w) / (c(a) c(b))  ≥  θ_n ,

   the minimum over every binary split (PMI of the weakest split, in nats); the default
   thresholds θ_2, θ_3, θ_4 = 2, 4, 6 are those of 6920 (4256 used the ratios 5, 25, 125, i.e.
   θ ≈ 1.6, 3.2, 4.8). The cohesive set is ``G``;
3. **cut**: the boundary between two neighbouring characters is kept (not cut) when some n-gram
   of ``G`` covers it ("better to miss a cut than cut wrongly"); the pieces between cuts are
   counted (second pass over the corpus) and kept when count ≥ ``min_count``;
4. **back-track**: a candidate of 3..4 characters must itself be in ``G``; a longer one must have
   every 4-character window in ``G`` (removes pieces such as 各项目 / 球队员).

Output: a ``{word: count}`` lexicon, most frequent first, that loads directly as a jieba
dictionary (``word count`` per line; see :func:`save_lexicon`).

Defaults that scale: ``min_count=None`` sets ``max(4, round(4·sqrt(chars / 2e6)))`` from the
number of word characters counted (4 for the 1.66M-character People's Daily corpus, ≈75 for
700M characters (THUCNews-sized; 6920 used 32), ≈170 for 3.5G characters (~10 GB; 4256 used
128 on 3M WeChat articles)), and never below the counter's prune level. Pitfall (3913): a
too-high θ cuts words whose inner pair is weak in the corpus (共和国: 和国).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from kexue.io.atomic import atomic_write
from kexue.text.ngrams import MAX_ORDER, NgramCounter, check_input_file, iter_blocks, iter_lines

__all__ = [
    "WordDiscovery",
    "DiscoveryResult",
    "discover_words",
    "auto_min_count",
    "save_lexicon",
    "load_lexicon",
]

DEFAULT_THRESHOLDS: tuple[float, ...] = (2.0, 4.0, 6.0)


def auto_min_count(total_chars: int) -> int:
    """The default minimum count for a corpus of ``total_chars`` word characters."""
    return max(4, round(4 * math.sqrt(max(total_chars, 0) / 2e6)))


@dataclass
class DiscoveryResult:
    """What discovery found: the lexicon and the numbers behind it."""

    lexicon: dict[str, int]
    min_count: int
    total_chars: int
    cohesive: dict[int, int] = field(default_factory=dict)
    candidates: int = 0
    removed_by_backtrack: int = 0
    pieces_prune_level: int = 0


def _progress(total: int | None, enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=not enabled,
                leave=False)


class WordDiscovery:
    """New-word discovery (archives/4256, 6920); call :meth:`fit` with a re-iterable corpus.

    Args:
        order: longest n-gram counted (2..4).
        min_count: minimum count of n-grams and of words; ``None`` scales with corpus size
            (:func:`auto_min_count`).
        thresholds: θ_2..θ_order in nats (``ln`` of the cohesion ratio), one per order ≥ 2.
        max_ngrams: budget of distinct n-grams (orders ≥ 2) before pruning.
        max_pieces: budget of distinct pieces in the cutting pass (a Python ``Counter``, ~100+
            bytes each); default ``max(100_000, max_ngrams // 8)``. Past it, pieces below a
            doubling level are dropped and the minimum count is raised to that level.
        progress: show a tqdm bar per pass.
    """

    def __init__(
        self,
        order: int = MAX_ORDER,
        min_count: int | None = None,
        thresholds: Sequence[float] | None = None,
        max_ngrams: int = 50_000_000,
        progress: bool = False,
        max_pieces: int | None = None,
    ) -> None:
        if max_pieces is None:
            max_pieces = max(100_000, max_ngrams // 8)
        if not isinstance(max_pieces, int) or max_pieces < 2:
            raise ValueError(f"max_pieces must be an int >= 2, got {max_pieces!r}")
        self.max_pieces = max_pieces
        if not isinstance(order, int) or not 2 <= order <= MAX_ORDER:
            raise ValueError(f"order must be an int in 2..{MAX_ORDER}, got {order!r}")
        if min_count is not None and (not isinstance(min_count, int) or min_count < 1):
            raise ValueError(f"min_count must be a positive int or None, got {min_count!r}")
        if thresholds is None:
            thresholds = DEFAULT_THRESHOLDS[: order - 1]
        thresholds = tuple(float(t) for t in thresholds)
        if len(thresholds) != order - 1:
            raise ValueError(
                f"thresholds needs one value per order 2..{order} ({order - 1}), "
                f"got {len(thresholds)}"
            )
        if any(not math.isfinite(t) for t in thresholds):
            raise ValueError("thresholds must be finite")
        self.order = order
        self.min_count = min_count
        self.thresholds = thresholds
        self.max_ngrams = max_ngrams
        self.progress = progress
        self.counter: NgramCounter | None = None
        self._cohesive: list[np.ndarray] = []

    # ------------------------------------------------------------------ steps
    def count(self, blocks: Iterable[str], total_bytes: int | None = None) -> NgramCounter:
        """Step 1: count n-grams of every block of text."""
        nc = NgramCounter(self.order, max_ngrams=self.max_ngrams)
        with _progress(total_bytes, self.progress, "counting") as bar:
            for block in blocks:
                nc.update(block)
                if self.progress:
                    bar.update(len(block.encode("utf-8")))
        nc.finalize()
        if nc.total == 0:
            raise ValueError("empty corpus: no word characters (letters, digits, CJK) found")
        self.counter = nc
        return nc

    def resolved_min_count(self) -> int:
        nc = self._need_counter()
        mc = auto_min_count(nc.total) if self.min_count is None else self.min_count
        return max(mc, nc.prune_level)

    def _need_counter(self) -> NgramCounter:
        if self.counter is None:
            raise RuntimeError("count() must run first")
        return self.counter

    def filter_ngrams(self) -> list[np.ndarray]:
        """Step 2: the sorted packed keys of the cohesive n-grams ``G``, one array per order."""
        nc = self._need_counter()
        mc = self.resolved_min_count()
        total = float(nc.total)
        bits = 16
        cohesive = [np.zeros(0, np.uint64), np.zeros(0, np.uint64)]
        for n in range(2, self.order + 1):
            keys, counts = nc.table(n)
            sel = counts >= mc
            keys, counts = keys[sel], counts[sel].astype(np.float64)
            worst = np.full(keys.shape, np.inf)
            for k in range(1, n):
                left = keys >> np.uint64(bits * (n - k))
                right = keys & np.uint64((1 << (bits * (n - k))) - 1)
                cl = nc.lookup(k, left).astype(np.float64)
                cr = nc.lookup(n - k, right).astype(np.float64)
                cl[cl == 0] = total
                cr[cr == 0] = total
                worst = np.minimum(worst, np.log(total * counts / (cl * cr)))
            cohesive.append(keys[worst >= self.thresholds[n - 2]])
        self._cohesive = cohesive
        return cohesive

    def pieces(self, block: str) -> list[str]:
        """Step 3 on one block: the pieces left after cutting at uncovered boundaries."""
        nc = self._need_counter()
        if not self._cohesive:
            raise RuntimeError("filter_ngrams() must run first")
        ids = nc.encode(block)
        m = ids.size
        if m == 0:
            return []
        diff = np.zeros(m + 1, np.int64)
        for n in range(2, self.order + 1):
            g = self._cohesive[n]
            if g.size == 0:
                continue
            keys, valid = nc.window_keys(ids, n)
            pos = np.minimum(np.searchsorted(g, keys), g.size - 1)
            hit = valid & (g[pos] == keys)
            starts = np.flatnonzero(hit)
            np.add.at(diff, starts + 1, 1)
            np.add.at(diff, starts + n, -1)
        joined = np.cumsum(diff)[:m] > 0  # joined[p]: boundary before char p is kept
        word = ids != 0
        prev_word = np.concatenate(([False], word[:-1]))
        begin = word & ~(prev_word & joined)
        next_joined = np.concatenate((joined[1:], [False]))
        next_word = np.concatenate((word[1:], [False]))
        end = word & ~(next_word & next_joined)
        b = np.flatnonzero(begin).tolist()
        e = (np.flatnonzero(end) + 1).tolist()
        return [block[i:j] for i, j in zip(b, e)]

    def in_cohesive(self, gram: str) -> bool:
        nc = self._need_counter()
        k = nc.key(gram)
        if k is None:
            return False
        g = self._cohesive[len(gram)]
        if g.size == 0:
            return False
        pos = min(int(np.searchsorted(g, np.uint64(k))), g.size - 1)
        return int(g[pos]) == k

    def backtrack(self, candidates: Mapping[str, int]) -> dict[str, int]:
        """Step 4: keep words whose every ``order``-window is cohesive; most frequent first."""
        kept: dict[str, int] = {}
        for w, c in candidates.items():
            n = len(w)
            if n >= 3:
                if n <= self.order:
                    if not self.in_cohesive(w):
                        continue
                elif not all(
                    self.in_cohesive(w[i : i + self.order]) for i in range(n - self.order + 1)
                ):
                    continue
            kept[w] = c
        return dict(sorted(kept.items(), key=lambda kv: (-kv[1], kv[0])))

    # ------------------------------------------------------------------ all together
    def fit(
        self,
        texts: Callable[[], Iterable[str]] | Sequence[str],
        total_bytes: int | None = None,
    ) -> DiscoveryResult:
        """Run the four steps. ``texts``: a sequence of lines or a zero-argument callable that
        returns a fresh iterable of lines each time (two passes are made)."""
        if callable(texts):
            make = texts
        elif isinstance(texts, Sequence) and not isinstance(texts, str):
            def make():
                return texts
        else:
            raise TypeError(
                "texts must be a sequence of lines or a callable returning a fresh iterable "
                "(discovery reads the corpus twice; a one-shot iterator cannot be re-read)"
            )
        nc = self.count(iter_blocks(make()), total_bytes)
        mc = self.resolved_min_count()
        g = self.filter_ngrams()
        pieces: Counter[str] = Counter()
        budget = self.max_pieces
        level = 0
        with _progress(total_bytes, self.progress, "cutting") as bar:
            for block in iter_blocks(make()):
                pieces.update(self.pieces(block))
                if len(pieces) > budget:  # lossy counting, as for the n-gram table
                    while len(pieces) > budget // 2:
                        level = max(2, 2 * level)
                        pieces = Counter({w: c for w, c in pieces.items() if c >= level})
                if self.progress:
                    bar.update(len(block.encode("utf-8")))
        mc = max(mc, level)
        candidates = {w: c for w, c in pieces.items() if c >= mc}
        lexicon = self.backtrack(candidates)
        return DiscoveryResult(
            lexicon=lexicon,
            min_count=mc,
            total_chars=nc.total,
            cohesive={n: int(g[n].size) for n in range(2, self.order + 1)},
            candidates=len(candidates),
            removed_by_backtrack=len(candidates) - len(lexicon),
            pieces_prune_level=level,
        )


def discover_words(
    corpus: Sequence[str | os.PathLike] | str | os.PathLike,
    *,
    order: int = MAX_ORDER,
    min_count: int | None = None,
    thresholds: Sequence[float] | None = None,
    max_ngrams: int = 50_000_000,
    progress: bool = False,
) -> DiscoveryResult:
    """Discover words in UTF-8 corpus file(s), streaming (two passes). See :class:`WordDiscovery`.

    Raises ``ValueError`` for non-UTF-8 bytes (naming file, line and byte offset) and for a corpus
    without any word character; ``FileNotFoundError`` for a missing file and
    ``IsADirectoryError`` for a directory.
    """
    paths = [corpus] if isinstance(corpus, str | os.PathLike) else list(corpus)
    if not paths:
        raise ValueError("no corpus files given")
    paths = [check_input_file(p) for p in paths]
    from kexue.io.lines import file_codec

    # progress in bytes read: unknown in advance for a compressed file
    compressed = any(file_codec(p) is not None for p in paths)
    total_bytes = None if compressed else sum(os.path.getsize(p) for p in paths)
    wd = WordDiscovery(order, min_count, thresholds, max_ngrams, progress)
    return wd.fit(lambda: iter_lines(paths), total_bytes)


def save_lexicon(path: str | os.PathLike, lexicon: Mapping[str, int], *,
                 like: Sequence[str | os.PathLike] = ()) -> None:
    """Write ``word count`` lines, most frequent first (a jieba dictionary), atomically.

    ``like``: the corpus files; the lexicon is never more readable than they are (an existing
    lexicon keeps its mode otherwise; :func:`kexue.io.atomic.output_mode`)."""
    items = sorted(lexicon.items(), key=lambda kv: (-kv[1], kv[0]))
    for w, c in items:
        if not w or any(ch.isspace() for ch in w):
            raise ValueError(f"word {w!r} is empty or contains whitespace")
        if not isinstance(c, int) or c < 1:
            raise ValueError(f"count of {w!r} must be a positive int, got {c!r}")
    with atomic_write(path, "w", encoding="utf-8", newline="\n", like=list(like)) as f:
        for w, c in items:
            f.write(f"{w} {c}\n")


def load_lexicon(path: str | os.PathLike) -> dict[str, int]:
    """Read a ``word [count [tag]]`` file (a jieba dictionary or ``kexue words`` output).

    A line without a count gets count 1; a malformed count or a duplicate word raises
    ``ValueError`` naming the line.
    """
    lex: dict[str, int] = {}
    for lineno, line in enumerate(iter_lines([path]), 1):
        parts = line.split()
        if not parts:
            continue
        w = parts[0]
        if len(parts) >= 2:
            try:
                c = int(parts[1])
            except ValueError:
                raise ValueError(
                    f"{os.fspath(path)}: line {lineno}: bad count {parts[1]!r}"
                ) from None
            if c < 0:
                raise ValueError(f"{os.fspath(path)}: line {lineno}: negative count {c}")
        else:
            c = 1
        if w in lex:
            raise ValueError(f"{os.fspath(path)}: line {lineno}: duplicate word {w!r}")
        lex[w] = c
    if not lex:
        raise ValueError(f"lexicon {os.fspath(path)!r} is empty")
    return lex
