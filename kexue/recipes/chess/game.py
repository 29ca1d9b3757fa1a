"""A game in progress: the board, its moves, and when it ends.

Ends: the side to move has no legal move (checkmate or stalemate: it loses); the same
position with the same side to move occurs a third time (a draw: a simplification, the
official perpetual-check and perpetual-chase rules, 长将/长捉, which decide who must deviate
or loses, are not implemented); the ply limit is reached (a draw; 200 plies in the matches);
neither side has a piece that can cross the river (R N C P: a draw).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence

from kexue.recipes.chess.board import START_FEN, Board, Move
from kexue.recipes.chess.movegen import legal_moves, outcome
from kexue.recipes.chess.notation import parse_iccs, parse_move, to_chinese, to_iccs

__all__ = ["GameState", "play_game", "random_player"]


class GameState:
    """``board`` after ``moves`` (ICCS) from ``fen``; ``push`` plays a checked legal move."""

    def __init__(self, fen: str = START_FEN, moves: Sequence[str] = ()) -> None:
        self.fen = fen
        self.board = Board.from_fen(fen)
        self.moves: list[str] = []
        self.chinese: list[str] = []
        self._seen: Counter = Counter([self.board.key()])
        for mv in moves:
            self.push(parse_move(mv, self.board))

    @property
    def standard_start(self) -> bool:
        return self.fen.split()[:2] == START_FEN.split()[:2]

    def push(self, move: Move) -> None:
        if move not in legal_moves(self.board):
            raise ValueError(f"{to_iccs(move)} is not a legal move here")
        self.chinese.append(to_chinese(self.board, move))
        self.moves.append(to_iccs(move))
        self.board.make(move)
        self._seen[self.board.key()] += 1

    def pop(self) -> None:
        """Take back the last move (replays from the start)."""
        moves = self.moves[:-1]
        self.__init__(self.fen, moves)

    def result(self, max_plies: int | None = None) -> tuple[str, str] | None:
        """``None`` while the game goes on, else ``(result, reason)``."""
        done = outcome(self.board)
        if done is not None:
            return done
        if self._seen[self.board.key()] >= 3:
            return "1/2-1/2", "threefold repetition"
        if not any(p and p.upper() in "RNCP" for p in self.board.squares):
            return "1/2-1/2", "no attacking pieces"
        if max_plies is not None and len(self.moves) >= max_plies:
            return "1/2-1/2", f"{max_plies}-ply limit"
        return None


Player = Callable[[GameState], Move]


def random_player(seed: int = 0) -> Player:
    """A player choosing uniformly among the legal moves."""
    rng = random.Random(seed)
    return lambda game: rng.choice(legal_moves(game.board))


def play_game(red: Player, black: Player, *, max_plies: int = 200,
              fen: str = START_FEN) -> tuple[list[str], str, str]:
    """Play a game; ``(moves, result, reason)``. A player's move is checked before it is
    played (an illegal one raises)."""
    game = GameState(fen)
    while (done := game.result(max_plies)) is None:
        player = red if game.board.red else black
        game.push(player(game))
    return game.moves, done[0], done[1]


def iccs_moves(moves: Sequence[str]) -> list[Move]:
    return [parse_iccs(m) for m in moves]
