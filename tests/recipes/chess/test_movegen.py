"""Legal moves: perft from the start (published values), hand positions for each rule, and
agreement with the second implementation (cchess) on positions from real games."""

import itertools
import random

import pytest

from kexue.recipes.chess.board import Board, square
from kexue.recipes.chess.movegen import in_check, is_legal, legal_moves, outcome, perft
from kexue.recipes.chess.notation import parse_iccs, to_iccs


@pytest.mark.parametrize("depth, nodes", [(1, 44), (2, 1920), (3, 79666)])
def test_perft_from_start(depth, nodes):
    assert perft(Board.from_fen(), depth) == nodes


def _iccs(board):
    return sorted(to_iccs(m) for m in legal_moves(board))


def test_flying_general_forbids_opening_the_file():
    # kings face each other on file e except for the red rook between them: it may not leave
    b = Board.from_fen("4k4/9/9/9/9/9/9/9/4R4/4K4 w")
    moves = _iccs(b)
    assert "e1a1" not in moves and "e1e8" in moves and "e1e9" in moves
    assert not in_check(b)
    # with the file open the king may not step onto it
    b = Board.from_fen("3k5/9/9/9/9/9/9/9/9/4K4 w")
    assert "e0d0" not in _iccs(b) and "e0e1" in _iccs(b)


def test_horse_leg_elephant_eye_cannon_screen_pawn_river():
    b = Board.from_fen("3k5/9/9/9/9/9/9/9/9/3AKN3 w")  # horse on f0, leg f1 empty
    assert {"f0g2", "f0e2", "f0h1"} <= set(_iccs(b))
    b = Board.from_fen("3k5/9/9/9/9/9/9/9/5R3/3AKN3 w")  # leg f1 blocked: only h1
    assert [m for m in _iccs(b) if m.startswith("f0")] == ["f0h1"]
    b = Board.from_fen("3k5/9/9/9/9/9/9/9/9/2B1K4 w")  # eye d1 free: c0-e2 yes
    assert "c0e2" in _iccs(b) and "c0a2" in _iccs(b)
    b = Board.from_fen("3k5/9/9/9/9/9/9/9/3R5/2B1K4 w")  # eye d1 blocked
    assert "c0e2" not in _iccs(b)
    b = Board.from_fen("3k5/9/9/9/9/2B6/9/9/9/4K4 w")  # elephant on c4 may not cross
    assert [m for m in _iccs(b) if m.startswith("c4")] == ["c4a2", "c4e2"]
    b = Board.from_fen("3k5/9/9/9/C1Rn5/9/9/9/9/4K4 w")  # cannon: slide, jump one screen
    c = [m for m in _iccs(b) if m.startswith("a5")]
    assert "a5b5" in c and "a5c5" not in c and "a5d5" in c and "a5a9" in c and "a5a0" in c
    b = Board.from_fen("3k5/9/9/9/C1RNn4/9/9/9/9/4K4 w")  # two screens: no capture
    assert not [m for m in _iccs(b) if m.startswith("a5") and m[2] > "b"]
    b = Board.from_fen("3k5/9/9/9/9/9/P8/9/9/4K4 w")  # pawn before the river: forward only
    assert [m for m in _iccs(b) if m.startswith("a3")] == ["a3a4"]
    b = Board.from_fen("3k5/9/9/9/4P4/9/9/9/9/4K4 w")  # crossed: also sideways, never back
    assert sorted(m for m in _iccs(b) if m.startswith("e5")) == ["e5d5", "e5e6", "e5f5"]


def test_checkmate_and_stalemate_lose():
    b = Board.from_fen("3k5/R8/9/9/9/9/9/9/9/3RK4 b")  # rook on d0 checks, a8 guards rank 8
    assert in_check(b) and legal_moves(b) == [] and outcome(b) == ("1-0", "checkmate")
    b = Board.from_fen("3k5/R8/9/9/9/9/9/9/9/4K4 b")  # not in check; d9 king: e9 faces e0
    assert not in_check(b)
    assert legal_moves(b) == [] and outcome(b) == ("1-0", "stalemate")
    assert outcome(Board.from_fen()) is None


def test_is_legal_matches_legal_moves():
    rng = random.Random(0)
    b = Board.from_fen()
    for _ in range(60):
        legal = set(legal_moves(b))
        for a, c in itertools.islice(((a, c) for a in range(90) for c in range(90)), 0, None, 7):
            assert is_legal(b, (a, c)) == ((a, c) in legal)
        if not legal:
            break
        b.make(rng.choice(sorted(legal)))


def test_agrees_with_cchess_on_real_positions(liu_dahua_games):
    referee = pytest.importorskip("kexue.recipes.chess.referee")
    pytest.importorskip("cchess")
    rng = random.Random(1)
    checked = 0
    for game in rng.sample(liu_dahua_games, 6):
        b = Board.from_fen()
        for i, mv in enumerate(game.moves):
            if i % 10 == 5:
                assert _iccs(b) == referee.cchess_legal_moves(b.fen()), b.fen()
                checked += 1
            b.make(parse_iccs(mv))
    assert checked >= 30
    # perft depth 2 from a middle-game position, both implementations
    b = Board.from_fen()
    for mv in liu_dahua_games[3].moves[:30]:
        b.make(parse_iccs(mv))
    assert perft(b, 2) == referee.cchess_perft(b.fen(), 2)


def test_square_helpers_reject_nonsense():
    with pytest.raises(ValueError, match="not a square"):
        square("j0")
