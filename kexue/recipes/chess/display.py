"""The board as text: Chinese piece characters, Red in red and Black in bold (ANSI colours).

Red's and Black's characters differ even without colour, as on printed boards: 帅仕相马车炮兵
against 将士象馬車砲卒.

Every cell is two columns wide (the pieces are wide characters; an empty point is ``＋``), so
the grid lines up in a terminal. Ranks carry their ICCS digit on the left, files their ICCS
letter below, and each side's file numbers (Black ``１…９`` on top, Red ``九…一`` below).
"""

from __future__ import annotations

from kexue.recipes.chess.board import Board

__all__ = ["render", "PIECE_CHARS"]

PIECE_CHARS = {"K": "帅", "A": "仕", "B": "相", "N": "马", "R": "车", "C": "炮", "P": "兵",
               "k": "将", "a": "士", "b": "象", "n": "馬", "r": "車", "c": "砲", "p": "卒"}
_RED, _BLACK, _MARK, _RESET = "\033[1;31m", "\033[1m", "\033[7m", "\033[0m"


def render(board: Board, *, color: bool = True, last: tuple[int, int] | None = None) -> str:
    """The board, Black at the top. ``last``: the squares of the last move, highlighted
    (reverse video with ``color``, else marked with brackets in the footer)."""
    lines = ["    １２３４５６７８９"]
    for rank in range(9, -1, -1):
        cells = []
        for file in range(9):
            sq = rank * 9 + file
            p = board.squares[sq]
            ch = PIECE_CHARS[p] if p else "＋"
            if color and p:
                ch = (_RED if p.isupper() else _BLACK) + ch + _RESET
            if color and last is not None and sq in last:
                ch = _MARK + ch + _RESET
            cells.append(ch)
        lines.append(f" {rank}  " + "".join(cells))
        if rank == 5:
            lines.append("    ～楚河～～～汉界～")
    lines.append("    九八七六五四三二一")
    lines.append("    a b c d e f g h i")
    side = "红方 Red" if board.red else "黑方 Black"
    lines.append(f"    {side} to move")
    return "\n".join(lines)
