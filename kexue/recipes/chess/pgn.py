"""Read xiangqi PGN files (ICCS or Chinese movetext) into games of ICCS moves with results.

A PGN record is a block of ``[Tag "value"]`` lines, then movetext (``1. h2e2 h9g7 2. ...`` or
``1. 炮二平五 馬８進７``), ending with an optional result token (``1-0``, ``0-1``,
``1/2-1/2``, ``*``). Files may be gzipped (read by content). Every move is replayed on a board
from the record's ``FEN`` (the standard start when there is none), so a game that is read is
a legal game; a record that cannot be read is reported with its number, its first line and
the reason (:class:`GameError`), and reading goes on with the next one.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kexue.recipes.chess.board import START_FEN, Board, FENError
from kexue.recipes.chess.movegen import is_legal
from kexue.recipes.chess.notation import NotationError, parse_chinese, parse_iccs, to_iccs

__all__ = ["Game", "GameError", "read_records", "read_games", "replay", "RESULTS"]

RESULTS = ("1-0", "0-1", "1/2-1/2", "*")
_TAG = re.compile(r'^\[(\w+)\s+"(.*)"\]$')  # lenient: bare quotes inside are kept
_NUMBER = re.compile(r"^\d+\.+$")
_NUMBER_PREFIX = re.compile(r"^(\d+)\.+(.+)$")
_ICCS = re.compile(r"^[a-iA-I][0-9]-?[a-iA-I][0-9]$")


class GameError(ValueError):
    """A record that cannot be read: ``index`` (1-based record number), ``line`` (its first
    line in the file), ``reason``."""

    def __init__(self, path: str, index: int, line: int, reason: str) -> None:
        self.path, self.index, self.line, self.reason = path, index, line, reason
        super().__init__(f"{path}: game {index} (line {line}): {reason}")


@dataclass
class Game:
    """A game: its moves in ICCS, the result (``*`` when unknown) and where it came from."""

    moves: list[str]
    result: str = "*"
    fen: str = START_FEN
    headers: dict[str, str] = field(default_factory=dict)
    index: int = 0
    line: int = 0

    @property
    def standard_start(self) -> bool:
        return self.fen.split()[:2] == START_FEN.split()[:2]


def _open(path: Path):
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_records(path: str | Path) -> Iterator[tuple[int, dict[str, str], list[str]]]:
    """``(first line, headers, movetext tokens)`` of each record, as written."""
    path = Path(path)
    headers: dict[str, str] = {}
    tokens: list[str] = []
    start = 0
    with _open(path) as f:
        for no, raw in enumerate(f, 1):
            line = raw.strip()
            if not line:
                continue
            if line.startswith("["):
                m = _TAG.match(line)
                # movetext seen, or a tag given twice: this line starts the next record
                if tokens or (m is not None and m.group(1) in headers):
                    yield start, headers, tokens
                    headers, tokens, start = {}, [], 0
                start = start or no
                if m is None:
                    headers.setdefault("\x00", f"bad header line {no}: {line[:60]!r}")
                else:
                    headers[m.group(1)] = m.group(2).replace('\\"', '"').replace("\\\\", "\\")
                continue
            start = start or no
            tokens.extend(re.sub(r"\{[^}]*\}", " ", line).split())  # drop {comments}
    if start:
        yield start, headers, tokens


def replay(moves: list[str], fen: str = START_FEN) -> Board:
    """Play ICCS ``moves`` from ``fen`` checking each is legal; the final board.

    Raises ``ValueError`` naming the first illegal move (its ply number)."""
    board = Board.from_fen(fen)
    for i, mv in enumerate(moves, 1):
        try:
            m = parse_iccs(mv)
        except NotationError as e:
            raise ValueError(f"ply {i}: {e}") from None
        if not is_legal(board, m):
            raise ValueError(f"ply {i}: {mv} is not a legal move")
        board.make(m)
    return board


def _game(path: str, index: int, start: int, headers: dict[str, str],
          tokens: list[str]) -> Game:
    if "\x00" in headers:
        raise GameError(path, index, start, headers["\x00"])
    fen = headers.get("FEN") or START_FEN
    try:
        board = Board.from_fen(fen)
    except FENError as e:
        raise GameError(path, index, start, str(e)) from None
    result = headers.get("Result", "*") or "*"
    moves: list[str] = []
    for tok in tokens:
        if tok in RESULTS:
            result = tok
            continue
        if _NUMBER.match(tok):
            continue
        m = _NUMBER_PREFIX.match(tok)
        if m:
            tok = m.group(2)
        try:
            if _ICCS.match(tok):
                move = parse_iccs(tok, board)
            elif tok.isascii():
                raise NotationError(f"cannot read move {tok!r}")
            else:
                move = parse_chinese(tok, board)
        except NotationError as e:
            raise GameError(path, index, start,
                            f"ply {len(moves) + 1} ({'red' if board.red else 'black'}): {e}"
                            ) from None
        moves.append(to_iccs(move))
        board.make(move)
    if result not in RESULTS:
        raise GameError(path, index, start, f"unknown result {result!r}")
    return Game(moves, result, fen, headers, index, start)


def read_games(path: str | Path, *, errors: list[GameError] | None = None) -> Iterator[Game]:
    """The games of a PGN file (ICCS or Chinese movetext, plain or gzipped).

    A record that cannot be read raises :class:`GameError` (game number, line, reason), or,
    when ``errors`` is a list, is appended to it and skipped."""
    p = Path(path)
    for index, (start, headers, tokens) in enumerate(read_records(p), 1):
        try:
            yield _game(str(p), index, start, headers, tokens)
        except GameError as e:
            if errors is None:
                raise
            errors.append(e)
