"""Move notation: ICCS coordinates (``h2e2``) and Chinese notation (炮二平五, 马８进７, 前车进一).

**ICCS** (the article's notation, https://kexue.fm/archives/7877): from square then to square,
files ``a``–``i`` from Red's left, ranks ``0``–``9`` from Red's back rank; ``H2-E2`` is read too.

**Chinese** (WXF style, four characters): piece, file, direction (进 forward, 退 back, 平
sideways), target. Red counts files 一…九 from Red's right (file ``i`` = 一), Black counts
１…９ from Black's right (file ``a`` = １). The target is a file for 平 and for the
diagonal movers 马 相/象 仕/士; for 车 炮 兵/卒 帅/将 moving 进/退 it is a number of ranks.
When like pieces share a file the first two characters become 前/后 (two), 前/中/后 (three)
or 一…五 counted from the front (pawns, four or five) followed by the piece; when pawns are
doubled on two files the piece is replaced by the file (前兵九平八 -> 前九平八). Advisors and
elephants never take 前/后 (the direction tells them apart). Traditional characters
(車 馬 進 後 帥 將 砲 俥 傌 …), fullwidth or ASCII digits are all read; output is simplified
with the usual digits (``traditional=True`` writes 車馬進後帥將).
"""

from __future__ import annotations

from kexue.recipes.chess.board import Board, Move, square, square_name
from kexue.recipes.chess.movegen import is_legal

__all__ = ["NotationError", "parse_iccs", "to_iccs", "parse_chinese", "to_chinese",
           "parse_move"]


class NotationError(ValueError):
    """A move string that cannot be read, or is not legal in the position (names which)."""


def to_iccs(move: Move) -> str:
    """``(25, 22)`` -> ``"h2e2"``."""
    return square_name(move[0]) + square_name(move[1])


def parse_iccs(text: str, board: Board | None = None) -> Move:
    """``"h2e2"`` (or ``"H2-E2"``) -> ``(25, 22)``; with ``board``, it must also be legal."""
    t = text.strip().lower().replace("-", "")
    if len(t) != 4:
        raise NotationError(f"not an ICCS move: {text!r} (four characters like 'h2e2')")
    try:
        move = (square(t[:2]), square(t[2:]))
    except ValueError:
        raise NotationError(f"not an ICCS move: {text!r} (files a-i, ranks 0-9)") from None
    if board is not None and not is_legal(board, move):
        raise NotationError(f"{text!r} is not a legal move here")
    return move


_NAMES = {  # kind -> (red, black) simplified names
    "R": ("车", "车"), "N": ("马", "马"), "C": ("炮", "炮"), "B": ("相", "象"),
    "A": ("仕", "士"), "K": ("帅", "将"), "P": ("兵", "卒"),
}
_TRAD = str.maketrans({"车": "車", "马": "馬", "帅": "帥", "将": "將", "进": "進", "后": "後"})
_KIND = {}
for _k, _chars in {"R": "车車俥伡", "N": "马馬傌㐷", "C": "炮砲包", "B": "相象",
                   "A": "仕士", "K": "帅帥将將", "P": "兵卒"}.items():
    for _c in _chars:
        _KIND[_c] = _k
_RED_DIGITS = "一二三四五六七八九"
_BLACK_DIGITS = "１２３４５６７８９"
_NUM = {c: i + 1 for i, c in enumerate(_RED_DIGITS)}
_NUM.update({c: i + 1 for i, c in enumerate(_BLACK_DIGITS)})
_NUM.update({str(i + 1): i + 1 for i in range(9)})
_DIR = {"进": 1, "進": 1, "退": -1, "平": 0}
_POS = {"前": "front", "中": "middle", "后": "rear", "後": "rear"}
_STRAIGHT = set("RCPK")


def _number(n: int, red: bool) -> str:
    return (_RED_DIGITS if red else _BLACK_DIGITS)[n - 1]


def _file_no(file: int, red: bool) -> int:  # board file 0-8 -> the mover's file number 1-9
    return 9 - file if red else file + 1


def _front_first(squares: list[int], red: bool) -> list[int]:
    # the piece nearest the enemy first
    return sorted(squares, key=lambda sq: -sq // 9 if red else sq // 9)


def _label(board: Board, frm: int) -> str:
    """The first two characters: piece + file, or 前/中/后 + piece, etc."""
    s = board.squares
    p = s[frm]
    red = p.isupper()
    kind = p.upper()
    name = _NAMES[kind][0 if red else 1]
    file = frm % 9
    same = [sq for sq in range(file, 90, 9) if s[sq] == p]
    if len(same) < 2 or kind in "AB":
        return name + _number(_file_no(file, red), red)
    order = _front_first(same, red).index(frm)
    if kind == "P":
        doubled = {sq % 9 for sq in range(90) if s[sq] == p
                   if sum(1 for x in range(sq % 9, 90, 9) if s[x] == p) >= 2}
        if len(doubled) > 1:  # pawns doubled on two files: 前/后 (or 前/中/后) + file number
            tag = "前后" if len(same) == 2 else "前中后"
            return tag[order] + _number(_file_no(file, red), red)
        if len(same) >= 4:
            return "一二三四五"[order] + name
    tag = "前后" if len(same) == 2 else "前中后"
    return tag[order] + name


def to_chinese(board: Board, move: Move, *, traditional: bool = False) -> str:
    """The Chinese notation of ``move`` in ``board`` (before it is played)."""
    frm, to = move
    p = board.squares[frm]
    if not p:
        raise NotationError(f"no piece on {square_name(frm)}")
    red = p.isupper()
    kind = p.upper()
    fr, ff = divmod(frm, 9)
    tr, tf = divmod(to, 9)
    forward = (tr - fr) if red else (fr - tr)
    if forward == 0:
        text = _label(board, frm) + "平" + _number(_file_no(tf, red), red)
    else:
        d = "进" if forward > 0 else "退"
        target = abs(forward) if kind in _STRAIGHT else _file_no(tf, red)
        text = _label(board, frm) + d + _number(target, red)
    return text.translate(_TRAD) if traditional else text


def parse_chinese(text: str, board: Board) -> Move:
    """Read a Chinese-notation move in ``board`` and return it (it must be legal).

    Raises :class:`NotationError` naming what is wrong: the form, an unknown character, no
    such piece, an ambiguous or an illegal move."""
    t = "".join(text.split())
    if len(t) != 4:
        raise NotationError(f"not a Chinese-notation move: {text!r} (four characters, "
                            "like 炮二平五 or 前车进一)")
    red = board.red
    s = board.squares
    head, second, direction, target = t
    if direction not in _DIR:
        raise NotationError(f"{text!r}: the third character must be 进, 退 or 平")
    if target not in _NUM:
        raise NotationError(f"{text!r}: the last character must be a number (一…九 or １…９)")
    dsign, n = _DIR[direction], _NUM[target]

    def mine(kind: str) -> list[int]:
        p = kind if red else kind.lower()
        return [sq for sq in range(90) if s[sq] == p]

    if head in _KIND and second in _NUM:  # 炮二平五: piece + file
        kind = _KIND[head]
        file = 9 - _NUM[second] if red else _NUM[second] - 1
        pieces = [sq for sq in mine(kind) if sq % 9 == file]
    elif head in "前中后後一二三四五" and (second in _KIND or second in _NUM):
        if second in _KIND:  # 前车: the piece of that kind on the file holding several
            kind = _KIND[second]
            groups: dict[int, list[int]] = {}
            for sq in mine(kind):
                groups.setdefault(sq % 9, []).append(sq)
            stacks = [g for g in groups.values() if len(g) >= 2]
            if head not in "前中后後" and kind != "P":
                raise NotationError(f"{text!r}: 一…五 counts only pawns")
            if len(stacks) != 1:
                raise NotationError(f"{text!r}: no single file holds two or more "
                                    f"{_NAMES[kind][0 if red else 1]}")
            column = _front_first(stacks[0], red)
        else:  # 前九: pawns doubled on several files, the file is given
            kind = "P"
            file = 9 - _NUM[second] if red else _NUM[second] - 1
            column = _front_first([sq for sq in mine("P") if sq % 9 == file], red)
            if len(column) < 2:
                raise NotationError(f"{text!r}: fewer than two pawns on that file")
        pos = {"前": 0, "一": 0, "二": 1, "三": 2, "四": 3, "五": 4}.get(head)
        if head in ("后", "後"):
            pos = len(column) - 1
        elif head == "中":
            if len(column) != 3:
                raise NotationError(f"{text!r}: 中 needs three like pieces on the file")
            pos = 1
        if pos is None or pos >= len(column):
            raise NotationError(f"{text!r}: there is no such piece")
        pieces = [column[pos]]
    else:
        raise NotationError(f"{text!r}: cannot read the piece (like 炮二, 前车, 前九)")
    if not pieces:
        raise NotationError(f"{text!r}: no {_NAMES[kind][0 if red else 1]} on that file")
    found = []
    for frm in pieces:
        fr, ff = divmod(frm, 9)
        fwd = 1 if red else -1
        if dsign == 0:
            tf = 9 - n if red else n - 1
            if kind not in _STRAIGHT:
                continue  # a diagonal mover cannot move sideways
            to = fr * 9 + tf
        elif kind in _STRAIGHT:
            to = (fr + dsign * fwd * n) * 9 + ff
            if not 0 <= fr + dsign * fwd * n <= 9:
                continue
        else:
            tf = 9 - n if red else n - 1
            dfile = abs(tf - ff)
            dr = {"N": 3 - dfile, "B": 2, "A": 1}[kind] if dfile else 0
            if kind == "N" and dfile not in (1, 2) or kind != "N" and dfile != dr:
                continue
            tr = fr + dsign * fwd * dr
            if not 0 <= tr <= 9:
                continue
            to = tr * 9 + tf
        if is_legal(board, (frm, to)):
            found.append((frm, to))
        elif len(pieces) == 1:
            raise NotationError(f"{text!r} ({to_iccs((frm, to))}) is not a legal move here")
    if not found:
        raise NotationError(f"{text!r} is not a legal move here")
    if len(found) > 1:
        raise NotationError(f"{text!r} is ambiguous here: "
                            + ", ".join(to_iccs(m) for m in found))
    return found[0]


def parse_move(text: str, board: Board) -> Move:
    """A legal move typed as ICCS (``h2e2``) or Chinese (``炮二平五``)."""
    t = text.strip()
    if t and t[0].isascii() and t[0].isalpha():
        return parse_iccs(t, board)
    return parse_chinese(t, board)
