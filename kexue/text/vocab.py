"""Reading BERT vocabulary files and the bert4keras vocabulary simplification.

``load_vocab(path)`` returns ``{token: id}`` for a one-token-a-line ``vocab.txt``.
``load_vocab(path, simplified=True)`` also drops the *redundant* tokens of a Chinese vocab and
returns ``(token_dict, keep_tokens)``: a token is redundant when it is longer than one character
and its stem (the token without a leading ``##``) contains a CJK ideograph or a punctuation
mark, because a Chinese tokenizer only ever emits single characters for those (bert4keras
``load_vocab(simplified=True)``; spec ``nlp.md`` §0.1). ``keep_tokens[new_id] = old_id`` indexes
the rows of the original embedding matrix to keep (pass it to
``build_transformer_model(..., keep_tokens=...)``). On the 21,128-token Google Chinese vocab this
keeps 13,584 tokens with the default ``startswith`` (``[PAD] [UNK] [CLS] [SEP]``) and 13,585 with
[MASK] added.

File handling (documented, never silent): the file must be UTF-8 (else ``ValueError`` naming the
line); lines are split on ``\\n`` only (the Google vocab contains U+2028 as a token, which
``str.splitlines`` would break); a trailing ``\\r`` is removed (CRLF files work), a carriage
return inside a line (a CR-only file) raises ``ValueError``; a leading UTF-8 byte-order mark is
dropped; an empty line or a duplicate token raises ``ValueError`` naming both line numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from kexue.io.atomic import atomic_write
from kexue.text.chars import is_cjk, is_punctuation

__all__ = ["load_vocab", "save_vocab", "simplify_vocab", "is_redundant", "DEFAULT_STARTSWITH"]

DEFAULT_STARTSWITH: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")


def _read_tokens(path: str | os.PathLike) -> list[str]:
    with open(path, "rb") as f:
        raw = f.read()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise ValueError(f"vocab file {os.fspath(path)!r} is empty")
    tokens: list[str] = []
    seen: dict[str, int] = {}
    if lines[0].startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]  # a UTF-8 byte-order mark is not part of the first token
    for lineno, line in enumerate(lines, 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if b"\r" in line:
            hint = (" (the file seems to end its lines with CR only: convert them to \\n)"
                    if len(lines) == 1 else "")
            raise ValueError(f"vocab file {os.fspath(path)!r}: line {lineno} holds a carriage "
                             f"return inside a token{hint}")
        try:
            token = line.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(
                f"vocab file {os.fspath(path)!r}: line {lineno} is not valid UTF-8 ({err.reason})"
            ) from None
        if token == "":
            raise ValueError(f"vocab file {os.fspath(path)!r}: line {lineno} is empty")
        if token in seen:
            raise ValueError(
                f"vocab file {os.fspath(path)!r}: token {token!r} on line {lineno} duplicates "
                f"line {seen[token]}"
            )
        seen[token] = lineno
        tokens.append(token)
    return tokens


def is_redundant(token: str) -> bool:
    """True when ``token`` is dropped by the simplification (multi-char with CJK/punct stem)."""
    if len(token) <= 1:
        return False
    stem = token[2:] if token.startswith("##") else token
    return any(is_cjk(c) or is_punctuation(c) for c in stem)


def simplify_vocab(
    token_dict: dict[str, int], startswith: Sequence[str] | None = None
) -> tuple[dict[str, int], list[int]]:
    """Simplify a ``{token: id}`` dict; returns ``(new_token_dict, keep_tokens)``.

    The tokens of ``startswith`` come first (in that order, each must be in the vocab), then every
    other non-redundant token in the original id order. ``keep_tokens[new_id] == old_id``.
    """
    starts = DEFAULT_STARTSWITH if startswith is None else tuple(startswith)
    new: dict[str, int] = {}
    keep: list[int] = []
    for t in starts:
        if t not in token_dict:
            raise ValueError(f"startswith token {t!r} is not in the vocab")
        if t in new:
            raise ValueError(f"startswith token {t!r} is listed twice")
        new[t] = len(keep)
        keep.append(token_dict[t])
    for t, old in sorted(token_dict.items(), key=lambda kv: kv[1]):
        if t in new or is_redundant(t):
            continue
        new[t] = len(keep)
        keep.append(old)
    return new, keep


def load_vocab(
    path: str | os.PathLike,
    simplified: bool = False,
    startswith: Sequence[str] | None = None,
) -> dict[str, int] | tuple[dict[str, int], list[int]]:
    """Load a BERT ``vocab.txt`` as ``{token: id}`` (ids = line numbers from 0).

    With ``simplified=True`` return ``(token_dict, keep_tokens)`` after dropping redundant tokens
    (see the module docstring; bert4keras convention, https://kexue.fm/archives/7758). The
    ``startswith`` tokens are forced to the front; default ``("[PAD]", "[UNK]", "[CLS]",
    "[SEP]")``; add ``"[MASK]"`` for masked-LM use. ``startswith`` without ``simplified`` is a
    ``TypeError`` (it would be silently ignored).
    """
    if not simplified and startswith is not None:
        raise TypeError("startswith is only used with simplified=True")
    tokens = _read_tokens(path)
    token_dict = {t: i for i, t in enumerate(tokens)}
    if not simplified:
        return token_dict
    return simplify_vocab(token_dict, startswith)


def save_vocab(path: str | os.PathLike, tokens: Iterable[str] | dict[str, int]) -> None:
    """Write tokens one a line (a dict is written in id order); refuses tokens with newlines.

    Written atomically (:func:`kexue.io.atomic.atomic_write`): an existing file is replaced
    only by the complete new one and keeps its permissions."""
    if isinstance(tokens, dict):
        ids = sorted(tokens.values())
        if ids != list(range(len(ids))):
            raise ValueError("token dict ids must be exactly 0..n-1")
        seq = [t for t, _ in sorted(tokens.items(), key=lambda kv: kv[1])]
    else:
        seq = list(tokens)
    if len(set(seq)) != len(seq):
        raise ValueError("duplicate tokens")
    for t in seq:
        if t == "" or "\n" in t or "\r" in t:
            raise ValueError(f"token {t!r} cannot be written one a line")
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as f:
        for t in seq:
            f.write(t + "\n")
