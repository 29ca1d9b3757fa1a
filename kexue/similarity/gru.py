"""A GRU sentence encoder trained as a classifier over paraphrase groups
(kexue.fm/archives/5743, 基于GRU和AM-Softmax的句子相似度模型).

Framing: like face recognition. Each group of paraphrases is a class; train
``encoder → CosineClassifier`` with AM-Softmax (:mod:`kexue.objectives.am_softmax`, s = 30,
m = 0.35), then **drop the classifier** and retrieve unseen sentences by the cosine of the
L2-normalised encoder vectors. The article's encoder: characters (count ≥ min_count; ids
0 = pad, 1 = unknown) → Embedding(128) → GRU(128) → the last state → L2-normalise.

Without Su's private ``tongyiju.csv``, groups come from pair data:
:func:`paraphrase_groups` takes the connected components of the graph whose edges are the
positive pairs (``a ~ b`` and ``b ~ c`` put ``a, b, c`` in one group).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["CharVocab", "GRUEncoder", "paraphrase_groups"]


def paraphrase_groups(pairs: Iterable[tuple[str, str]], min_size: int = 2) -> list[list[str]]:
    """Connected components of the positive-pair graph (union–find), each a sorted list of
    sentences; groups are ordered by their first sentence's first appearance."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    order: dict[str, int] = {}
    for a, b in pairs:
        for s in (a, b):
            order.setdefault(s, len(order))
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb, key=order.__getitem__)] = min(ra, rb, key=order.__getitem__)
    comps: dict[str, list[str]] = {}
    for s in order:
        comps.setdefault(find(s), []).append(s)
    groups = [sorted(g, key=order.__getitem__) for g in comps.values() if len(g) >= min_size]
    return sorted(groups, key=lambda g: order[g[0]])


class CharVocab:
    """Characters seen at least ``min_count`` times; 0 = padding, 1 = unknown. Text is
    lower-cased and full-width ASCII mapped to half-width, as in the article."""

    def __init__(self, texts: Iterable[str], min_count: int = 5) -> None:
        counts = Counter(ch for t in texts for ch in self.normalise(t))
        chars = sorted(c for c, n in counts.items() if n >= min_count)
        self.index = {c: i + 2 for i, c in enumerate(chars)}

    @staticmethod
    def normalise(text: str) -> str:
        out = []
        for ch in text:
            code = ord(ch)
            if code == 0x3000:
                code = 0x20
            elif 0xFF01 <= code <= 0xFF5E:
                code -= 0xFEE0
            out.append(chr(code))
        return "".join(out).lower()

    def __len__(self) -> int:
        return len(self.index) + 2

    def encode(self, text: str, maxlen: int = 32) -> list[int]:
        ids = [self.index.get(c, 1) for c in self.normalise(text)[:maxlen]]
        if not ids:
            raise ValueError("an empty sentence has no vector")
        return ids


class GRUEncoder(nn.Module):
    """``ids (batch, len)`` → L2-normalised last GRU state ``(batch, hidden)`` (padding 0 on the
    right is skipped with packed sequences)."""

    def __init__(self, vocab_size: int, embedding: int = 128, hidden: int = 128) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding, padding_idx=0)
        self.gru = nn.GRU(embedding, hidden, batch_first=True)

    def forward(self, ids: Tensor) -> Tensor:
        lengths = (ids != 0).sum(1)
        if bool((lengths == 0).any()):
            raise ValueError("a row has no token")
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(ids), lengths.cpu(),
                                                   batch_first=True, enforce_sorted=False)
        _, h = self.gru(packed)
        return F.normalize(h[-1], dim=-1)

    @torch.inference_mode()
    def encode(self, vocab: CharVocab, texts: Sequence[str], batch_size: int = 256,
               maxlen: int = 32):
        """float32 NumPy vectors of ``texts`` (normalised), in input order."""
        from kexue.data import sequence_padding

        was = self.training
        self.eval()
        out = []
        for i in range(0, len(texts), batch_size):
            ids = [vocab.encode(t, maxlen) for t in texts[i:i + batch_size]]
            out.append(self(torch.as_tensor(sequence_padding(ids))).numpy())
        self.train(was)
        import numpy as np

        return np.concatenate(out) if out else np.zeros((0, self.gru.hidden_size), np.float32)
