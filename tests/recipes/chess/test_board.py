"""Board and FEN: round trips, bad FENs named, make / unmake restores everything."""

import pytest

from kexue.recipes.chess.board import START_FEN, Board, FENError, square, square_name


def test_start_fen_round_trip_and_squares():
    b = Board.from_fen()
    assert b.fen() == START_FEN
    assert b.squares[square("h2")] == "C" and b.squares[square("e9")] == "k"
    assert square_name(25) == "h2" and square("h2") == 25
    assert b.king(True) == square("e0") and b.king(False) == square("e9")


def test_fen_aliases_and_black_to_move():
    b = Board.from_fen("rheakaehr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RHEAKAEHR b")
    assert b.fen().split()[0] == START_FEN.split()[0] and not b.red


@pytest.mark.parametrize("fen, words", [
    ("rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/RNBAKABNR w", "9 ranks"),
    ("rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABN w", "8 files"),
    ("rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABNRR w", "more than 9"),
    ("rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAXABNR w", "unknown piece"),
    ("rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBA1ABNR w", "0 red kings"),
    ("rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/KNBA1ABNR w", "cannot stand on a0"),
    ("rnbakabnr/9/1c5c1/p1p1p1p1p/9/B8/P1P1P1P1P/1C5C1/9/RN1AKABNR w", "cannot stand on a4"),
    ("rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/P8/RNBAKABNR w", "cannot stand on a1"),
    ("rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABNR x", "side to move"),
    ("", "empty"),
])
def test_bad_fen_is_named(fen, words):
    with pytest.raises(FENError, match=words):
        Board.from_fen(fen)


def test_make_unmake_restores_position_and_counters():
    b = Board.from_fen()
    before = (list(b.squares), b.red, b.halfmove, b.fullmove)
    for mv in [(square("h2"), square("h9")), (square("b7"), square("b0"))]:
        h = b.halfmove
        cap = b.make(mv)
        assert cap in ("n", "N")
        b.unmake(mv, cap, h)
    assert (b.squares, b.red, b.halfmove, b.fullmove) == before
