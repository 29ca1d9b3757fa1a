"""PET patterns: a text template with a mask slot (https://kexue.fm/archives/7764).

A pattern turns an input into a cloze question: ``Pattern("{mask}满意。{text}")`` makes
``[CLS] [MASK] 满 意 。 这 趟 … [SEP]`` and the verbalizer's tokens are scored at the mask
positions. ``{mask}`` is replaced by as many ``[MASK]`` tokens as the verbalizer's words have
tokens; ``{text}`` is the input, ``{pair}`` the second text of a sentence-pair task (all in
one segment, as the article's ``A？___，B。``).

Pitfalls: the template pieces and the texts are tokenized separately and joined, so the mask
positions are exact even when a text contains the string ``[MASK]`` (it stays ordinary text,
never a second mask); an over-long input is an error unless ``truncate=True`` is asked, which
cuts the end of the longer of ``text``/``pair`` and never the prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Pattern", "Encoded"]

_SLOT = re.compile(r"\{(mask|text|pair)\}")


@dataclass(frozen=True)
class Encoded:
    """One encoded cloze: ``token_ids`` (with ``[CLS]``/``[SEP]``), ``segment_ids`` and the
    indices of its mask tokens in ``token_ids``."""

    token_ids: list[int]
    segment_ids: list[int]
    mask_positions: list[int]


@dataclass(frozen=True)
class Pattern:
    """A cloze template: literal text plus the slots ``{mask}`` (exactly once), ``{text}``
    (exactly once) and ``{pair}`` (at most once; pair tasks).

    ``Pattern("{mask}满意。{text}").position == "prefix"``; ``"{text}{mask}满意。"`` is a
    suffix pattern (the article's P2; prefix patterns scored higher there).
    """

    template: str
    pieces: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.template, str):
            raise TypeError(f"template must be a str, got {type(self.template).__name__}")
        pieces: list[tuple[str, str]] = []
        pos = 0
        for m in _SLOT.finditer(self.template):
            if m.start() > pos:
                pieces.append(("literal", self.template[pos:m.start()]))
            pieces.append((m.group(1), ""))
            pos = m.end()
        if pos < len(self.template):
            pieces.append(("literal", self.template[pos:]))
        kinds = [k for k, _ in pieces]
        if kinds.count("mask") != 1:
            raise ValueError(
                f"a pattern needs exactly one {{mask}} slot, {self.template!r} has "
                f"{kinds.count('mask')} (write e.g. '{{mask}}满意。{{text}}')")
        if kinds.count("text") != 1:
            raise ValueError(f"a pattern needs exactly one {{text}} slot: {self.template!r}")
        if kinds.count("pair") > 1:
            raise ValueError(f"a pattern has at most one {{pair}} slot: {self.template!r}")
        object.__setattr__(self, "pieces", tuple(pieces))

    @property
    def has_pair(self) -> bool:
        return any(k == "pair" for k, _ in self.pieces)

    @property
    def position(self) -> str:
        """``"prefix"`` when the mask slot comes before the text, else ``"suffix"``."""
        kinds = [k for k, _ in self.pieces]
        return "prefix" if kinds.index("mask") < kinds.index("text") else "suffix"

    def encode(self, tokenizer, text: str, pair: str | None = None, *, n_masks: int = 1,
               maxlen: int, truncate: bool = False) -> Encoded:
        """Encode ``text`` (and ``pair``) into the template with ``n_masks`` mask tokens.

        Args:
            tokenizer: a :class:`kexue.text.Tokenizer`.
            maxlen: the most tokens a row may have (``[CLS]``/``[SEP]`` included), normally
                the model's positions.
            truncate: cut the end of the longer text until the row fits; ``False`` raises
                ``ValueError`` for a row longer than ``maxlen``.
        """
        if self.has_pair != (pair is not None):
            raise ValueError(f"the pattern {self.template!r} "
                             + ("needs a pair text" if self.has_pair else "has no {pair} slot"))
        if not isinstance(text, str) or (pair is not None and not isinstance(pair, str)):
            raise TypeError("text and pair must be str")
        mask_id = tokenizer.token_to_id(tokenizer.mask_token)
        texts = {"text": _body(tokenizer, text), "pair": _body(tokenizer, pair or "")}
        fixed = 2 + n_masks + sum(len(_body(tokenizer, s)) for k, s in self.pieces
                                  if k == "literal")
        if fixed > maxlen:
            raise ValueError(f"the pattern {self.template!r} with {n_masks} mask(s) needs "
                             f"{fixed} tokens, more than maxlen={maxlen}")
        free = maxlen - fixed
        while len(texts["text"]) + len(texts["pair"]) > free:
            if not truncate:
                raise ValueError(
                    f"the input needs {fixed + len(texts['text']) + len(texts['pair'])} tokens, "
                    f"more than maxlen={maxlen} (the model's positions or the maxlen given); "
                    f"pass truncate=True to cut the text's end: {text[:30]!r}...")
            longer = "text" if len(texts["text"]) >= len(texts["pair"]) else "pair"
            texts[longer] = texts[longer][:-1]
        ids = [tokenizer.token_to_id(tokenizer.cls_token)]
        masks: list[int] = []
        for kind, literal in self.pieces:
            if kind == "mask":
                masks = list(range(len(ids), len(ids) + n_masks))
                ids += [mask_id] * n_masks
            elif kind == "literal":
                ids += _body(tokenizer, literal)
            else:
                ids += texts[kind]
        ids.append(tokenizer.token_to_id(tokenizer.sep_token))
        return Encoded(ids, [0] * len(ids), masks)


def _body(tokenizer, text: str) -> list[int]:
    """Token ids of ``text`` without ``[CLS]``/``[SEP]``; a literal ``[MASK]`` written in the
    text stays ordinary text (the tokenizer would make it a mask token)."""
    if not text:
        return []
    if tokenizer.mask_token in text:
        parts = text.split(tokenizer.mask_token)
        out: list[int] = []
        for k, part in enumerate(parts):
            if k:
                out += tokenizer.encode(tokenizer.mask_token.strip("[]"))[0][1:-1]
            out += _body(tokenizer, part)
        return out
    return tokenizer.encode(text)[0][1:-1]
