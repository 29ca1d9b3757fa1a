"""``text_segmentate``: cut a long text into pieces under a length, at punctuation."""

from __future__ import annotations

__all__ = ["text_segmentate"]


def text_segmentate(text: str, maxlen: int, seps: str = "\n", strips: str | None = None
                    ) -> list[str]:
    """Split ``text`` into pieces of at most ``maxlen`` characters, cutting at separators.

    bert4keras's ``snippets.text_segmentate``. ``seps`` lists separators from the strongest
    to the weakest, e.g. ``"\\n。！？!?；;，, "``. The text is split after every occurrence of
    the first separator (which stays attached to its piece) and neighbouring pieces are
    greedily merged while the merged piece stays under ``maxlen``; a piece still longer than
    ``maxlen`` is split again with the next separator. Each piece has ``strips`` removed from
    both ends (plus whitespace). Pitfall: a run of text with none of the separators can not
    be cut, so it comes back longer than ``maxlen`` (add ``" "`` or a hard cut yourself).

    >>> text_segmentate("今天天气很好。我们去公园吧！好的。", 8, "。！")
    ['今天天气很好。', '我们去公园吧！', '好的。']
    """
    if not isinstance(maxlen, int) or isinstance(maxlen, bool) or maxlen < 1:
        raise ValueError(f"maxlen must be an int >= 1, got {maxlen!r}")
    text = text.strip().strip(strips)
    if len(text) <= maxlen or not seps:
        return [text] if text else []
    sep, rest = seps[0], seps[1:]
    parts = text.split(sep)
    pieces = [p + sep for p in parts[:-1]] + [parts[-1]]
    out: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(piece) > maxlen:
            out.extend(text_segmentate(current, maxlen, rest, strips))
            current = ""
        current += piece
    if current:
        out.extend(text_segmentate(current, maxlen, rest, strips))
    return out
