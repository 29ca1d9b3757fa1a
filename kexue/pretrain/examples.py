"""Training examples from packed chunks: MLM (+ NSP), UniLM seq2seq, causal LM, mixed.

:class:`PretrainStream` is the ``IterableDataset`` that ``kexue.train.fit`` reads: it asks a
:class:`~kexue.pretrain.packing.Packer` for chunks and turns each into one example with the
objective drawn for it. Every random choice of example ``i`` of epoch ``e`` comes from
``np.random.default_rng([seed, e, i])``, and the stream position is the packer's cursor, so the
stream is deterministic and a resumed run continues at the exact next example.

Examples are dicts of NumPy arrays / ints, padded into batches by ``kexue.data.PadCollate``
(``labels`` padded with -100):

- ``mlm`` (RoBERTa): ``[CLS] chunk [SEP]``, documents packed across boundaries with a
  ``[SEP]`` between them; ``labels`` at the masked positions (kexue.pretrain.masking).
- ``nsp`` (BERT's next-sentence prediction, always with MLM): ``[CLS] A [SEP] B [SEP]``; A is
  the first lines of a chunk cut at a random line boundary (inside the line when the chunk
  is one line), B the rest of the chunk (``nsp_label`` 0, "B follows A", kexue's NSP-head
  convention) or, with probability 1/2, as many tokens from a random other document
  (``nsp_label`` 1); then the unused real B goes back to the stream, as in Google's
  ``create_pretraining_data.py``. Random next sentence, not sentence order: NSP-BERT reads
  this head as a coherence scorer (kexue.fm/archives/8671).
- ``unilm`` (Dong et al., arXiv 1905.03197; kexue.fm/archives/6933): ``[CLS] S [SEP] T
  [SEP]`` with segment ids 0 for the source and 1 for the target; (sentence, next sentence)
  pairs, and (title, text) when the chunk starts a document (its first line is the title).
  ``labels[i]`` is the token at ``i + 1`` wherever that token is in the target, so the loss
  is one cross-entropy of the logits at ``i`` against ``labels[i]``; the model builds the
  bert4keras UniLM mask from the segment ids.
- ``lm`` (GPT): ``[CLS] chunk``, documents packed with ``[SEP]`` between them;
  ``labels[i] = token_ids[i + 1]``.

Mixed objectives (bert4keras's RoFormer-Sim mixes UniLM and MLM) draw each example's
objective from the weights given; MLM examples in a UniLM model keep all segment ids 0, which
makes the UniLM mask bidirectional.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
from torch.utils.data import IterableDataset

from kexue.pretrain.masking import IGNORE_INDEX, mask_tokens
from kexue.pretrain.packing import Chunk, Cursor, Packer
from kexue.pretrain.tokens import TokenStore

__all__ = ["PretrainStream", "OBJECTIVES", "SpecialIds"]

OBJECTIVES = ("mlm", "nsp", "unilm", "lm")


class SpecialIds:
    """The ids of ``[PAD] [CLS] [SEP] [MASK]`` and the first ordinary id (random
    replacements are drawn from ``[first_normal, vocab_size)``)."""

    def __init__(self, token_dict: Mapping[str, int], first_normal: int | None = None) -> None:
        for t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]"):
            if t not in token_dict:
                raise ValueError(f"the vocabulary has no {t} token")
        self.pad, self.cls = token_dict["[PAD]"], token_dict["[CLS]"]
        self.sep, self.mask = token_dict["[SEP]"], token_dict["[MASK]"]
        self.vocab_size = len(token_dict)
        specials = [i for t, i in token_dict.items() if t.startswith("[") and t.endswith("]")]
        self.first_normal = (max(specials) + 1 if first_normal is None else first_normal)
        if self.first_normal >= self.vocab_size:
            raise ValueError("the vocabulary has no ordinary token after its special tokens")


class PretrainStream(IterableDataset):
    """Examples for ``objectives`` (``{"mlm": 1.0}``, ``{"nsp": 1.0}``, ``{"unilm": 0.5,
    "mlm": 0.5}``, ``{"lm": 1.0}``) from a token store, ``max_length`` tokens at most each.

    ``whole_word`` masks jieba words whole (the store's word marks); ``mask_rate`` 0.15.
    Under torchrun give ``rank`` / ``world_size``: example ``i`` goes to rank ``i % world``.
    ``epochs`` passes are made per ``iter`` call only once: the stream ends with its epoch
    (``fit`` calls ``set_epoch`` for the next one)."""

    def __init__(self, store: TokenStore, specials: SpecialIds, *, max_length: int,
                 objectives: Mapping[str, float], whole_word: bool = True,
                 mask_rate: float = 0.15, seed: int = 0, shuffle: bool = True,
                 rank: int = 0, world_size: int = 1) -> None:
        unknown = set(objectives) - set(OBJECTIVES)
        if unknown or not objectives:
            raise ValueError(f"objectives must be a non-empty subset of {OBJECTIVES}, "
                             f"got {sorted(objectives)}")
        if "lm" in objectives and len(objectives) > 1:
            raise ValueError("the causal LM objective trains a decoder: it cannot be mixed "
                             "with MLM / NSP / UniLM")
        if "nsp" in objectives and "unilm" in objectives:
            raise ValueError("NSP and UniLM need different segment ids in one model: "
                             "mix UniLM with MLM instead")
        weights = np.array([float(objectives[k]) for k in objectives])
        if (weights <= 0).any() or not np.isfinite(weights).all():
            raise ValueError(f"objective weights must be positive, got {dict(objectives)}")
        if store.meta["vocab_size"] != specials.vocab_size:
            raise ValueError(f"the token store was built with a vocabulary of "
                             f"{store.meta['vocab_size']} tokens, the model's has "
                             f"{specials.vocab_size}")
        if max_length < 8:
            raise ValueError(f"max_length must be >= 8, got {max_length}")
        if whole_word and not store.meta["whole_word"]:
            raise ValueError("whole-word masking needs a token store built with whole_word")
        self.store = store
        self.sp = specials
        self.max_length = int(max_length)
        self.names = list(objectives)
        self.probs = weights / weights.sum()
        self.whole_word = bool(whole_word)
        self.mask_rate = float(mask_rate)
        self.seed = int(seed)
        self.rank, self.world_size = int(rank), int(world_size)
        pairs = any(k in objectives for k in ("nsp", "unilm"))
        budget = self.max_length - (3 if pairs else 2 if "lm" not in objectives else 1)
        self.packer = Packer(store, budget, cross_documents=not pairs, seed=seed,
                             shuffle=shuffle)

    # ---- position (kexue.train.fit saves and restores it) ---------------------------------
    def state_dict(self) -> dict:
        return self.packer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.packer.load_state_dict(state)

    def set_epoch(self, epoch: int) -> None:
        self.packer.set_epoch(epoch)

    # ---- iteration -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[dict]:
        while True:
            ex = self.next_example()
            if ex is None:
                return
            if ex is not False:
                yield ex

    def next_example(self) -> dict | None | bool:
        """The next example of this rank; ``None`` at the end of the epoch, ``False`` for an
        example that belongs to another rank (its chunk is consumed all the same)."""
        epoch, index = self.packer.cursor.epoch, self.packer.cursor.index
        chunk = self.packer.next_chunk()
        if chunk is None:
            return None
        rng = np.random.default_rng([self.seed, epoch, index])
        name = self.names[0] if len(self.names) == 1 else self.names[
            int(rng.choice(len(self.names), p=self.probs))]
        if name in ("nsp", "unilm"):
            # the pair decision consumes or gives back tokens, so every rank makes it
            ex = self._pair(chunk, rng, name)
        else:
            ex = None
        if index % self.world_size != self.rank:
            return False
        if name == "mlm":
            return self._mlm(chunk, rng)
        if name == "lm":
            return self._lm(chunk)
        return ex

    def _tokens(self, spans: list[tuple[int, int]], docs: list[int] | None = None
                ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        ids: list[np.ndarray] = []
        words: list[np.ndarray] = []
        for k, (a, b) in enumerate(spans):
            if docs is not None and k and docs[k] != docs[k - 1]:
                ids.append(np.array([self.sp.sep]))
                words.append(np.ones(1, np.uint8))
            ids.append(np.asarray(self.store.ids[a:b], dtype=np.int64))
            w = np.array(self.store.words[a:b], dtype=np.uint8)
            if len(w):
                w[0] = 1  # a span cut inside a word starts a unit of its own
            words.append(w)
        return ids, words

    def _masked(self, ids: np.ndarray, words: np.ndarray, special: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return mask_tokens(ids, rng, mask_id=self.sp.mask, vocab_size=self.sp.vocab_size,
                           maskable=~special, word_starts=words if self.whole_word else None,
                           rate=self.mask_rate, random_low=self.sp.first_normal)

    def _mlm(self, chunk: Chunk, rng: np.random.Generator) -> dict:
        ids, words = self._tokens(chunk.spans, chunk.docs)
        body = np.concatenate(ids)
        seq = np.concatenate([[self.sp.cls], body, [self.sp.sep]]).astype(np.int64)
        w = np.concatenate([[1], *words, [1]]).astype(np.uint8)
        special = (seq == self.sp.cls) | (seq == self.sp.sep)
        inputs, labels = self._masked(seq, w, special, rng)
        return {"token_ids": inputs, "segment_ids": np.zeros_like(inputs), "labels": labels,
                "objective": OBJECTIVES.index("mlm")}

    def _lm(self, chunk: Chunk) -> dict:
        ids, _ = self._tokens(chunk.spans, chunk.docs)
        seq = np.concatenate([[self.sp.cls], *ids]).astype(np.int64)
        labels = np.full(len(seq), IGNORE_INDEX, dtype=np.int64)
        labels[:-1] = seq[1:]
        return {"token_ids": seq, "labels": labels, "objective": OBJECTIVES.index("lm")}

    def _split(self, chunk: Chunk, rng: np.random.Generator, title: bool
               ) -> tuple[list[tuple[int, int]], list[tuple[int, int]], Cursor | None]:
        """Cut a chunk into A and B: at a line boundary, or inside a single span; returns the
        cursor where B starts (None when the chunk cannot be cut)."""
        spans = chunk.spans
        if len(spans) >= 2:
            k = 1 if title and chunk.cursors[0].line == 0 and chunk.line_starts[0] else int(
                rng.integers(1, len(spans)))
            return spans[:k], spans[k:], chunk.cursors[k]
        a, b = spans[0]
        if b - a < 2:
            return spans, [], None
        cut = int(rng.integers(a + 1, b))
        c = chunk.cursors[0]
        return [(a, cut)], [(cut, b)], Cursor(c.epoch, c.doc, c.line, c.offset + cut - a, 0)

    def _random_span(self, rng: np.random.Generator, avoid: int, length: int
                     ) -> list[tuple[int, int]]:
        """``length`` tokens (at most) from a random line onward of a random other document."""
        store = self.store
        n = store.n_docs
        d = int(rng.integers(0, n - 1)) if n > 1 else 0
        if n > 1 and d >= avoid:
            d += 1
        lines = store.doc_lines(d)
        start = int(rng.integers(0, len(lines) - 1))
        out: list[tuple[int, int]] = []
        for i in range(start, len(lines) - 1):
            a, b = int(lines[i]), int(lines[i + 1])
            b = min(b, a + length)
            out.append((a, b))
            length -= b - a
            if length <= 0:
                break
        return out

    def _pair(self, chunk: Chunk, rng: np.random.Generator, name: str) -> dict:
        a_spans, b_spans, b_cursor = self._split(chunk, rng, title=name == "unilm")
        nsp_label = 0
        if name == "nsp" and (not b_spans or rng.random() < 0.5):
            nsp_label = 1
            room = self.packer.budget - sum(b - a for a, b in a_spans)
            b_spans = self._random_span(rng, chunk.docs[0], max(1, room))
            if b_cursor is not None:
                self.packer.rewind(b_cursor)  # the real B goes back to the stream
        a_ids, a_words = self._tokens(a_spans)
        b_ids, b_words = self._tokens(b_spans)
        a = np.concatenate(a_ids)
        b = np.concatenate(b_ids) if b_ids else np.zeros(0, np.int64)
        seq = np.concatenate([[self.sp.cls], a, [self.sp.sep], b, [self.sp.sep]]).astype(
            np.int64)
        seg = np.zeros(len(seq), dtype=np.int64)
        seg[len(a) + 2:] = 1
        if name == "nsp":
            w = np.concatenate([[1], *a_words, [1], *b_words, [1]]).astype(np.uint8)
            special = (seq == self.sp.cls) | (seq == self.sp.sep)
            inputs, labels = self._masked(seq, w, special, rng)
            return {"token_ids": inputs, "segment_ids": seg, "labels": labels,
                    "nsp_label": nsp_label, "objective": OBJECTIVES.index("nsp")}
        labels = np.full(len(seq), IGNORE_INDEX, dtype=np.int64)
        labels[len(a) + 1:-1] = seq[len(a) + 2:]  # logits at i predict target token i + 1
        return {"token_ids": seq, "segment_ids": seg, "labels": labels,
                "objective": OBJECTIVES.index("unilm")}
