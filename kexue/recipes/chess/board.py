"""The xiangqi board: 90 squares, the side to move, FEN in and out, make / unmake.

Squares are numbered ``rank * 9 + file``: files ``a``–``i`` (0–8) from Red's left, ranks 0–9
from Red's back rank, as in ICCS (``h2e2`` = 炮二平五 from the start,
https://kexue.fm/archives/7877). Pieces are FEN letters: Red upper case ``K A B N R C P``
(帅 仕 相 马 车 炮 兵), Black lower case. FEN lists ranks from 9 (Black's back rank) down to 0;
``H``/``E`` (horse, elephant) are read as ``N``/``B``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["START_FEN", "Board", "FENError", "square", "square_name", "Move"]

START_FEN = "rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABNR w - - 0 1"

#: a move: (from square, to square)
Move = tuple[int, int]

_PIECES = set("KABNRCPkabnrcp")
_ALIASES = {"H": "N", "E": "B", "h": "n", "e": "b"}
#: where each piece may stand at all (palace, own half, pawn ranks): checked by from_fen
_PALACE = {r * 9 + f for r in (0, 1, 2) for f in (3, 4, 5)}


class FENError(ValueError):
    """A FEN string that does not describe a legal xiangqi setup (names the problem)."""


def square(name: str) -> int:
    """``"h2"`` -> 25 (rank 2 * 9 + file 7)."""
    if len(name) != 2 or name[0] not in "abcdefghi" or name[1] not in "0123456789":
        raise ValueError(f"not a square: {name!r} (file a-i then rank 0-9, as 'h2')")
    return int(name[1]) * 9 + "abcdefghi".index(name[0])


def square_name(sq: int) -> str:
    """25 -> ``"h2"``."""
    return "abcdefghi"[sq % 9] + str(sq // 9)


def _mirror(sq: int) -> int:  # Red's square as seen from Black's side
    return (9 - sq // 9) * 9 + sq % 9


def _allowed(piece: str, sq: int) -> bool:
    red = piece.isupper()
    own = sq if red else _mirror(sq)  # the square in Red's frame
    rank, file = divmod(own, 9)
    kind = piece.upper()
    if kind == "K":
        return own in _PALACE
    if kind == "A":
        return own in {3, 5, 13, 21, 23}
    if kind == "B":
        return own in {2, 6, 18, 22, 26, 38, 42}
    if kind == "P":
        return rank >= 5 or (rank in (3, 4) and file % 2 == 0)
    return True


@dataclass
class Board:
    """A position: ``squares[sq]`` is a FEN letter or ``""``; ``red`` is True when Red moves.

    ``make(move)`` plays a (pseudo-)legal move and returns the captured piece; ``unmake``
    takes it back. Legality lives in :mod:`kexue.recipes.chess.movegen`.
    """

    squares: list[str] = field(default_factory=lambda: [""] * 90)
    red: bool = True
    halfmove: int = 0
    fullmove: int = 1

    @classmethod
    def from_fen(cls, fen: str = START_FEN) -> Board:
        """Read a FEN (``START_FEN`` by default). Missing counters default to ``0 1``.

        Raises :class:`FENError` for a wrong rank count or width, an unknown letter, a piece
        where it can never stand (a king outside its palace, an elephant over the river, a
        pawn behind its start), a missing or extra king, or a bad side to move."""
        if not isinstance(fen, str):
            raise FENError(f"a FEN must be a string, got {type(fen).__name__}")
        parts = fen.split()
        if not parts:
            raise FENError("empty FEN")
        rows = parts[0].split("/")
        if len(rows) != 10:
            raise FENError(f"FEN {fen!r}: {len(rows)} ranks, a xiangqi board has 10")
        board = cls()
        for i, row in enumerate(rows):
            rank = 9 - i
            file = 0
            for ch in row:
                if ch.isdigit():
                    file += int(ch)
                    continue
                ch = _ALIASES.get(ch, ch)
                if ch not in _PIECES:
                    raise FENError(f"FEN {fen!r}: unknown piece letter {ch!r} on rank {rank}")
                if file > 8:
                    raise FENError(f"FEN {fen!r}: rank {rank} ({row!r}) has more than 9 files")
                sq = rank * 9 + file
                if not _allowed(ch, sq):
                    raise FENError(
                        f"FEN {fen!r}: {ch!r} cannot stand on {square_name(sq)}")
                board.squares[sq] = ch
                file += 1
            if file != 9:
                raise FENError(f"FEN {fen!r}: rank {rank} ({row!r}) has {file} files, not 9")
        for king in "Kk":
            n = board.squares.count(king)
            if n != 1:
                raise FENError(f"FEN {fen!r}: {n} {'red' if king == 'K' else 'black'} kings")
        for kind, most in zip("ABNRCP", (2, 2, 2, 2, 2, 5), strict=True):
            for p in (kind, kind.lower()):
                if board.squares.count(p) > most:
                    raise FENError(f"FEN {fen!r}: more than {most} {p!r}")
        side = parts[1] if len(parts) > 1 else "w"
        if side not in ("w", "r", "b"):
            raise FENError(f"FEN {fen!r}: side to move must be 'w' (red) or 'b', got {side!r}")
        board.red = side != "b"
        try:
            board.halfmove = int(parts[4]) if len(parts) > 4 else 0
            board.fullmove = int(parts[5]) if len(parts) > 5 else 1
        except ValueError:
            raise FENError(f"FEN {fen!r}: the move counters must be integers") from None
        return board

    def fen(self) -> str:
        """The position as FEN (castling and en-passant fields are always ``-``)."""
        rows = []
        for rank in range(9, -1, -1):
            row, empty = "", 0
            for file in range(9):
                p = self.squares[rank * 9 + file]
                if p:
                    row += (str(empty) if empty else "") + p
                    empty = 0
                else:
                    empty += 1
            rows.append(row + (str(empty) if empty else ""))
        side = "w" if self.red else "b"
        return f"{'/'.join(rows)} {side} - - {self.halfmove} {self.fullmove}"

    def key(self) -> tuple[str, bool]:
        """A hashable key of the placement and side to move (repetitions, opening books)."""
        return "".join(p or "." for p in self.squares), self.red

    def copy(self) -> Board:
        return Board(list(self.squares), self.red, self.halfmove, self.fullmove)

    def king(self, red: bool) -> int:
        """The square of the red (``True``) or black king."""
        return self.squares.index("K" if red else "k")

    def make(self, move: Move) -> str:
        """Play ``move`` (no legality check) and return the captured piece or ``""``."""
        a, b = move
        s = self.squares
        captured = s[b]
        s[b], s[a] = s[a], ""
        self.halfmove = 0 if captured else self.halfmove + 1
        if not self.red:
            self.fullmove += 1
        self.red = not self.red
        return captured

    def unmake(self, move: Move, captured: str, halfmove: int) -> None:
        """Take back ``make(move)`` (``captured`` it returned, the ``halfmove`` before it)."""
        a, b = move
        s = self.squares
        s[a], s[b] = s[b], captured
        self.red = not self.red
        if not self.red:
            self.fullmove -= 1
        self.halfmove = halfmove
