"""Character classes shared by the tokenizer, the vocabulary tools and word discovery.

The definitions follow the BERT / bert4keras conventions (see ``../shared/spec/nlp.md`` §0.1):

- CJK ideograph: the CJK Unified Ideographs blocks and extensions A–E plus the compatibility
  blocks (the ranges BERT pads with spaces; Hangul, kana and full-width Latin are *not* CJK here);
- punctuation: every ASCII non-alphanumeric printable character (``$``, ``^``, backtick, ... count
  although Unicode does not call them punctuation) and every Unicode ``P*`` category;
- whitespace: ``" "``, ``\\t``, ``\\n``, ``\\r`` and the ``Zs`` category;
- control: the ``C*`` categories except ``Cn`` and ``\\t``, ``\\n``, ``\\r`` (dropped, with NUL
  and U+FFFD).

The categories come from Python's ``unicodedata`` (Unicode 14.0 in Python 3.11); HF
``tokenizers`` uses its own, older tables, so characters added in recent Unicode versions (for
example U+07FD, U+0890) can be classified differently by the two backends of
:class:`kexue.text.Tokenizer`.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "is_cjk",
    "is_punctuation",
    "is_whitespace",
    "is_dropped",
    "to_halfwidth",
]

_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def is_cjk(ch: str) -> bool:
    """True for a CJK ideograph (the ranges BERT splits into single-character words)."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def is_punctuation(ch: str) -> bool:
    """True for ASCII symbols/punctuation and the Unicode ``P*`` categories."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_whitespace(ch: str) -> bool:
    """True for space, tab, newline, carriage return and the ``Zs`` category."""
    if ch in " \t\n\r":
        return True
    return unicodedata.category(ch) == "Zs"


def is_dropped(ch: str) -> bool:
    """True for characters BERT deletes: NUL, U+FFFD and ``Cc``/``Cf``/``Co``/``Cs`` characters
    (not tab/newline/carriage return).

    Unassigned code points (``Cn``) are kept as ordinary characters, as HF ``tokenizers`` (and so
    ``transformers.BertTokenizer``) does; Google's original Python tokenizer dropped them.
    """
    cp = ord(ch)
    if cp == 0 or cp == 0xFFFD:
        return True
    if ch in "\t\n\r":
        return False
    cat = unicodedata.category(ch)
    return cat.startswith("C") and cat != "Cn"


_HALFWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_HALFWIDTH[0x3000] = 0x20


def to_halfwidth(text: str) -> str:
    """Map full-width ASCII variants (U+FF01–U+FF5E) and the ideographic space to ASCII.

    A one-character-to-one-character map, so character offsets are unchanged.
    """
    return text.translate(_HALFWIDTH)
