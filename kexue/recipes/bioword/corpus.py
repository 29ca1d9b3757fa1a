"""A corpus slice as word ids: jieba words, a frequency vocabulary, and n-gram windows.

Lines are read through :mod:`kexue.io.lines` (plain or compressed, recognised by content),
segmented by jieba (HMM off, :class:`kexue.text.wobert.JiebaWords`), and only words holding at
least one CJK ideograph are kept (punctuation, numbers and Latin words are dropped, as FlyVec
drops non-words). Each line is one chunk: windows never cross a line.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from kexue.text.chars import is_cjk

__all__ = ["Corpus", "build_corpus", "read_corpus_lines", "windows"]

PAD = -1


def read_corpus_lines(paths: Sequence[str | os.PathLike], max_lines: int | None = None
                      ) -> list[str]:
    """The first ``max_lines`` non-empty lines of ``paths`` (in order), strict UTF-8."""
    from kexue.text.ngrams import iter_lines

    out: list[str] = []
    for line in iter_lines(paths):
        line = line.strip()
        if line:
            out.append(line)
            if max_lines is not None and len(out) >= max_lines:
                break
    return out


def _is_word(w: str) -> bool:
    return any(is_cjk(ch) for ch in w)


@dataclass
class Corpus:
    """``words``: the vocabulary, most frequent first; ``counts``: their corpus counts;
    ``chunks``: one int64 id array per line (out-of-vocabulary words removed)."""

    words: list[str]
    counts: np.ndarray
    chunks: list[np.ndarray]

    @property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    @property
    def tokens(self) -> int:
        return int(sum(len(c) for c in self.chunks))


def build_corpus(lines: Iterable[str], vocab_size: int, min_count: int = 5,
                 segment=None) -> Corpus:
    """Segment ``lines`` (``segment``: ``str -> list[str]``, default jieba), keep the
    ``vocab_size`` most frequent words seen at least ``min_count`` times (ties by first
    appearance), and encode every line."""
    if segment is None:
        from kexue.text.wobert import JiebaWords

        segment = JiebaWords()
    seg = [[w for w in segment(line) if _is_word(w)] for line in lines]
    freq = Counter(w for s in seg for w in s)
    words = [w for w, c in freq.most_common(vocab_size) if c >= min_count]
    if len(words) < 2:
        raise ValueError(f"the corpus gives {len(words)} word(s) seen at least {min_count} "
                         "times; it is empty or too small")
    idx = {w: i for i, w in enumerate(words)}
    chunks = [np.array([idx[w] for w in s if w in idx], dtype=np.int64) for s in seg]
    chunks = [c for c in chunks if len(c) >= 2]
    return Corpus(words, np.array([freq[w] for w in words], dtype=np.int64), chunks)


def windows(chunks: Sequence[np.ndarray], size: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """Every position of every chunk as a window of ``size`` (odd) words: ``(centre (N,),
    context (N, size - 1))``; context slots outside the chunk, and repeats of a word already in
    the window's context (the input is a bag, 0/1), are ``-1``."""
    if size < 3 or size % 2 == 0:
        raise ValueError(f"window size must be odd and >= 3, got {size}")
    h = size // 2
    centres, contexts = [], []
    for c in chunks:
        n = len(c)
        padded = np.concatenate([np.full(h, PAD), c, np.full(h, PAD)])
        pos = np.arange(n)[:, None] + np.concatenate([np.arange(h), np.arange(h + 1, size)])
        centres.append(c)
        contexts.append(padded[pos])
    centre = np.concatenate(centres)
    ctx = np.sort(np.concatenate(contexts), axis=1)
    dup = np.zeros_like(ctx, dtype=bool)
    dup[:, 1:] = (ctx[:, 1:] == ctx[:, :-1]) & (ctx[:, 1:] != PAD)
    ctx[dup] = PAD
    return centre, ctx
