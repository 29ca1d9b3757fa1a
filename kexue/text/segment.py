"""Lexicon-driven segmentation: the unigram language model's most probable path.

Segmenting with a lexicon ``{word: count}`` minimises the information of the sentence,
``−Σ_k ln p(w_k)`` with ``p(w) = c(w) / Σ c`` (https://kexue.fm/archives/5476: the
minimum-entropy view; the same max-product path jieba computes with ``HMM=False``), by dynamic
programming over the word lattice (a prefix set gives every lexicon word starting at each
position).

Text handling: runs of word characters (``str.isalnum``) are segmented with the lattice; a
character not starting any lexicon word is a one-character word with count 1 (jieba's rule);
whitespace is dropped; every other character (punctuation, symbols) is its own token, except
that a run of the same symbol (``——``, ``……``) is one token. ``"".join(tokens)`` is the input
without whitespace.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping

__all__ = ["Segmenter"]

_PIECES = re.compile(r"([^\W_]+)|(\s+)|((.)\4*)", re.DOTALL)


class Segmenter:
    """Unigram max-probability segmenter for a ``{word: count}`` lexicon.

    >>> Segmenter({"科学": 10, "空间": 8, "科": 1}).cut("科学空间。")
    ['科学', '空间', '。']
    """

    def __init__(self, lexicon: Mapping[str, int | float]) -> None:
        words: dict[str, float] = {}
        for w, c in lexicon.items():
            if not isinstance(w, str) or w == "":
                raise ValueError(f"lexicon words must be non-empty strings, got {w!r}")
            c = float(c)
            if not math.isfinite(c) or c < 0:
                raise ValueError(f"count of {w!r} must be finite and >= 0, got {c}")
            if c > 0:
                words[w] = c
        if not words:
            raise ValueError("lexicon has no word with a positive count")
        total = sum(words.values())
        log_total = math.log(total)
        self._logp = {w: math.log(c) - log_total for w, c in words.items()}
        self._unk = -log_total
        prefixes: set[str] = set()
        for w in words:
            for i in range(1, len(w)):
                prefixes.add(w[:i])
        self._prefixes = prefixes
        self.max_len = max(len(w) for w in words)

    def _cut_chunk(self, s: str) -> list[str]:
        m = len(s)
        logp = self._logp
        prefixes = self._prefixes
        best = [0.0] + [-math.inf] * m
        back = [0] * (m + 1)
        unk = self._unk
        for i in range(m):
            base = best[i]
            # single character always possible
            j = i + 1
            piece = s[i]
            score = base + logp.get(piece, unk)
            if score > best[j]:
                best[j] = score
                back[j] = i
            while j < m and piece in prefixes:
                j += 1
                piece = s[i:j]
                lp = logp.get(piece)
                if lp is not None:
                    score = base + lp
                    if score > best[j]:
                        best[j] = score
                        back[j] = i
        out: list[str] = []
        j = m
        while j > 0:
            i = back[j]
            out.append(s[i:j])
            j = i
        out.reverse()
        return out

    def cut(self, text: str) -> list[str]:
        """Tokens of ``text`` (see the module docstring for non-word characters)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        out: list[str] = []
        for mt in _PIECES.finditer(text):
            word, space, other = mt.group(1), mt.group(2), mt.group(3)
            if word:
                out.extend(self._cut_chunk(word))
            elif space:
                continue
            else:
                out.append(other)
        return out

    def cut_lines(self, lines: Iterable[str]) -> Iterator[list[str]]:
        for line in lines:
            yield self.cut(line)
