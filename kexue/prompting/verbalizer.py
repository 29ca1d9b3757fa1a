"""PET verbalizers: label -> the word(s) a mask slot should be filled with
(https://kexue.fm/archives/7764; Schick & Schütze, arXiv 2001.07676).

A label's words are scored at the pattern's mask positions from the MLM distributions
``p_k(·)`` (softmax over the whole vocabulary at mask ``k``):

- ``reduce="product"``: ``s(w) = Π_k p_k(w_k)`` (the article's TNEWS rule, two masks);
- ``reduce="mean"``: ``s(w) = (1/K) Σ_k p_k(w_k)``;

and a label with several words scores ``Σ_w s(w)`` (the probability of any of its words).
Scores are returned as ``log s``.

Pitfalls (each a ``ValueError``): a word the vocabulary splits into ``[UNK]`` (its score would
be the score of ``[UNK]``); words of different token lengths (one mask slot has one length;
pass ``mixed_lengths=True`` with ``reduce="mean"`` to score each length in its own pass);
an empty word or label set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Verbalizer"]


@dataclass(frozen=True)
class Verbalizer:
    """``Verbalizer({"positive": "很", "negative": "不"})``; a value may be a list of words.

    Args:
        words: label -> word or list of words (labels keep this order).
        reduce: ``"product"`` or ``"mean"`` over the positions of a multi-token word.
        mixed_lengths: allow words of different token lengths (``reduce="mean"`` only, so that
            scores of different lengths compare).
    """

    words: Mapping[object, str | Sequence[str]]
    reduce: str = "product"
    mixed_lengths: bool = False

    def __post_init__(self) -> None:
        if self.reduce not in ("product", "mean"):
            raise ValueError(f"reduce must be 'product' or 'mean', got {self.reduce!r}")
        if self.mixed_lengths and self.reduce != "mean":
            raise ValueError("mixed_lengths=True needs reduce='mean' (a product of more "
                             "positions is smaller, so lengths would not compare)")
        if not self.words:
            raise ValueError("a verbalizer needs at least one label")
        for label, ws in self.words.items():
            ws = [ws] if isinstance(ws, str) else list(ws)
            if not ws or any(not isinstance(w, str) or not w for w in ws):
                raise ValueError(f"label {label!r} needs one or more non-empty words, got {ws!r}")

    @property
    def labels(self) -> list:
        return list(self.words)

    def label_words(self) -> list[list[str]]:
        return [[ws] if isinstance(ws, str) else list(ws) for ws in self.words.values()]

    def token_ids(self, tokenizer) -> list[list[list[int]]]:
        """``[label][word] -> token ids``; checks ``[UNK]`` and (unless ``mixed_lengths``)
        that every word has the same number of tokens."""
        unk = tokenizer.token_to_id(tokenizer.unk_token)
        out = []
        for label, ws in zip(self.labels, self.label_words()):
            ids_w = []
            for w in ws:
                ids = tokenizer.encode(w)[0][1:-1]
                if not ids or unk in ids:
                    raise ValueError(f"the verbalizer word {w!r} of label {label!r} becomes "
                                     f"{tokenizer.ids_to_tokens(ids)} (unknown to the "
                                     f"vocabulary): choose a word the vocabulary has")
                ids_w.append(ids)
            out.append(ids_w)
        lengths = sorted({len(ids) for ws in out for ids in ws})
        if len(lengths) > 1 and not self.mixed_lengths:
            detail = {str(lab): [len(i) for i in ws] for lab, ws in zip(self.labels, out)}
            raise ValueError(f"verbalizer words have different token lengths {lengths} "
                             f"({detail}); use words of one length, or mixed_lengths=True "
                             f"with reduce='mean'")
        return out
