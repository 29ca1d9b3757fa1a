"""SentencePiece tokenizer (mT5, T5.1.1), bert4keras ``SpTokenizer`` style, through the
``sentencepiece`` package (an optional dependency: ``pip install kexue[text]``).

``encode(text)`` returns ``(token_ids, segment_ids)`` like :class:`kexue.text.Tokenizer`, with
the end token ``</s>`` appended (T5's convention; ``token_end=None`` leaves it out) and no start
token. ``pad_id`` (0 in T5 vocabularies) is also the decoder's start id. Decoding drops the
control tokens (``<pad>``, ``</s>``, ...).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["SentencePieceTokenizer"]


class SentencePieceTokenizer:
    """A ``.model`` file of the ``sentencepiece`` package (mT5's ``spiece.model``).

    Args:
        model_path: the SentencePiece model file.
        token_start: a piece prepended to every encoding (``None``: none, as in T5).
        token_end: a piece appended (``"</s>"`` by default, as in T5; ``None``: none).
    """

    def __init__(
        self,
        model_path: str | os.PathLike,
        *,
        token_start: str | None = None,
        token_end: str | None = "</s>",
    ) -> None:
        try:
            import sentencepiece as spm
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "SentencePieceTokenizer needs the 'sentencepiece' package: "
                "pip install 'kexue[text]'"
            ) from exc
        path = os.fspath(model_path)
        if not os.path.isfile(path):
            raise ValueError(f"SentencePiece model not found: {path}")
        self._sp = spm.SentencePieceProcessor()
        try:
            self._sp.Load(path)
        except (OSError, RuntimeError) as exc:
            raise ValueError(f"{path} is not a SentencePiece model ({exc})") from exc
        self._start = self._piece_id(token_start, "token_start")
        self._end = self._piece_id(token_end, "token_end")
        self.pad_id = self._sp.pad_id() if self._sp.pad_id() >= 0 else 0
        self.unk_id = self._sp.unk_id()
        self.eos_id = self._sp.eos_id()

    def _piece_id(self, piece: str | None, name: str) -> int | None:
        if piece is None:
            return None
        i = self._sp.PieceToId(piece)
        if self._sp.IdToPiece(i) != piece:
            raise ValueError(f"{name} {piece!r} is not a piece of this SentencePiece model")
        return i

    @property
    def vocab_size(self) -> int:
        return self._sp.GetPieceSize()

    def token_to_id(self, token: str) -> int:
        return self._sp.PieceToId(token)

    def id_to_token(self, i: int) -> str:
        if not 0 <= int(i) < self.vocab_size:
            raise ValueError(f"id {i} is outside the vocabulary [0, {self.vocab_size})")
        return self._sp.IdToPiece(int(i))

    def tokenize(self, text: str) -> list[str]:
        """The pieces of ``text`` (without start/end tokens)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        return list(self._sp.EncodeAsPieces(text))

    def encode(
        self, first: str, second: str | None = None, maxlen: int | None = None
    ) -> tuple[list[int], list[int]]:
        """``(start) first (end) [second (end)]`` ids and segment ids 0 / 1; ``maxlen`` cuts
        the longer body first, keeping the start/end tokens."""
        if not isinstance(first, str) or (second is not None and not isinstance(second, str)):
            raise TypeError("text must be str")
        head = [self._start] if self._start is not None else []
        tail = [self._end] if self._end is not None else []
        a = list(self._sp.EncodeAsIds(first))
        b = list(self._sp.EncodeAsIds(second)) if second is not None else None
        if maxlen is not None:
            fixed = len(head) + len(tail) * (1 if b is None else 2)
            if maxlen < fixed:
                raise ValueError(f"maxlen must be >= {fixed}, got {maxlen}")
            while len(a) + (len(b) if b is not None else 0) + fixed > maxlen:
                if b is not None and len(b) > len(a):
                    b.pop()
                else:
                    a.pop()
        ids = head + a + tail
        segments = [0] * len(ids)
        if b is not None:
            ids += b + tail
            segments += [1] * (len(b) + len(tail))
        return ids, segments

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``; control tokens (pad, end, start) are dropped."""
        ids = [int(i) for i in ids]
        for i in ids:
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"id {i} is outside the vocabulary [0, {self.vocab_size})")
        return self._sp.DecodeIds([i for i in ids if not self._sp.IsControl(i)])
