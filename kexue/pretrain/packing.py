"""Pack a token store into fixed-length training examples, deterministically and resumably.

:class:`Packer` walks the documents of a :class:`kexue.pretrain.tokens.TokenStore` in an
order that is a pure function of ``(seed, epoch)`` and cuts them into chunks of at most
``budget`` tokens: lines are taken whole while they fit, and a line longer than what is left
is split at the budget and continued in the next chunk, so **no chunk is longer than the
budget and every token of the corpus lands in exactly one chunk per epoch** (nothing is
dropped). With ``cross_documents`` a chunk continues into the next document (RoBERTa's
FULL-SENTENCES packing; one budget token is reserved for the ``[SEP]`` put between the two),
otherwise a chunk ends with its document (needed for sentence pairs).

The position in the stream is a small dict (epoch, document, line, token offset, example
index), so a resumed run continues at the exact next example (``state_dict`` /
``load_state_dict``, which ``kexue.train.fit`` saves in its checkpoints).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from kexue.pretrain.tokens import TokenStore

__all__ = ["Packer", "Cursor", "Chunk"]


@dataclass
class Cursor:
    """Where the stream stands: ``doc`` indexes the epoch's document order, ``line`` the
    document's lines, ``offset`` the tokens of that line; ``index`` counts chunks made."""

    epoch: int = 0
    doc: int = 0
    line: int = 0
    offset: int = 0
    index: int = 0


@dataclass
class Chunk:
    """One chunk: ``spans`` are ``(start, end)`` token ranges of the store (each inside one
    line), ``docs`` the store document of each span, ``first_line`` whether each span starts
    at its line's start, ``cursors`` the stream position at each span's start."""

    spans: list[tuple[int, int]]
    docs: list[int]
    line_starts: list[bool]
    cursors: list[Cursor]

    @property
    def length(self) -> int:
        return sum(b - a for a, b in self.spans)


class Packer:
    """Cut a token store into chunks of at most ``budget`` tokens (see the module docstring).

    ``shuffle``: document order per epoch = ``np.random.default_rng([seed, epoch])``'s
    permutation (``False``: store order)."""

    def __init__(self, store: TokenStore, budget: int, *, cross_documents: bool,
                 seed: int = 0, shuffle: bool = True) -> None:
        if budget < 2:
            raise ValueError(f"budget must be >= 2 tokens, got {budget}")
        self.store = store
        self.budget = int(budget)
        self.cross_documents = bool(cross_documents)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.cursor = Cursor()
        self._order_epoch = -1
        self._order: np.ndarray | None = None

    # ---- position ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        return asdict(self.cursor)

    def load_state_dict(self, state: dict) -> None:
        self.cursor = Cursor(**{k: int(state[k]) for k in asdict(Cursor())})

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its beginning (a no-op when already in that epoch)."""
        if epoch != self.cursor.epoch:
            self.cursor = Cursor(epoch=int(epoch))

    def order(self, epoch: int) -> np.ndarray:
        if self._order_epoch != epoch:
            n = self.store.n_docs
            self._order = (np.random.default_rng([self.seed, epoch]).permutation(n)
                           if self.shuffle else np.arange(n))
            self._order_epoch = epoch
        return self._order

    # ---- chunks ------------------------------------------------------------------------
    def next_chunk(self) -> Chunk | None:
        """The next chunk, advancing the cursor; ``None`` at the end of the epoch."""
        c = self.cursor
        order = self.order(c.epoch)
        lines = self.store.lines
        docs = self.store.docs
        spans: list[tuple[int, int]] = []
        span_docs: list[int] = []
        line_starts: list[bool] = []
        cursors: list[Cursor] = []
        room = self.budget
        while c.doc < len(order):
            d = int(order[c.doc])
            first, last = int(docs[d]), int(docs[d + 1])
            if spans and span_docs[-1] != d:  # entering another document inside this chunk
                if not self.cross_documents or room < 2:
                    break
                room -= 1  # the [SEP] between documents
            while first + c.line < last and room > 0:
                a = int(lines[first + c.line]) + c.offset
                end = int(lines[first + c.line + 1])
                b = min(end, a + room)
                cursors.append(Cursor(c.epoch, c.doc, c.line, c.offset, c.index))
                spans.append((a, b))
                span_docs.append(d)
                line_starts.append(c.offset == 0)
                room -= b - a
                if b == end:
                    c.line += 1
                    c.offset = 0
                else:
                    c.offset += b - a
            if first + c.line >= last:  # document used up
                c.doc += 1
                c.line = 0
                c.offset = 0
            if room <= 0 or not self.cross_documents:
                break
        if not spans:
            return None
        c.index += 1
        return Chunk(spans, span_docs, line_starts, cursors)

    def rewind(self, cursor: Cursor) -> None:
        """Move back to a position a chunk reported (the unused tail of a sentence pair is
        given back to the stream); the chunk count is kept."""
        index = self.cursor.index
        self.cursor = Cursor(cursor.epoch, cursor.doc, cursor.line, cursor.offset, index)
