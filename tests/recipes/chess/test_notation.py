"""ICCS and Chinese notation, both directions: the article's examples, 前/中/后 and pawn
files, traditional characters and digits, a round trip over every legal move of real games."""

import random

import pytest

from kexue.recipes.chess.board import Board
from kexue.recipes.chess.movegen import legal_moves
from kexue.recipes.chess.notation import (
    NotationError,
    parse_chinese,
    parse_iccs,
    parse_move,
    to_chinese,
    to_iccs,
)


def test_article_examples():
    b = Board.from_fen()
    m = parse_iccs("h2e2", b)
    assert to_chinese(b, m) == "炮二平五" and parse_chinese("炮二平五", b) == m
    assert parse_iccs("H2-E2") == m and to_iccs(m) == "h2e2"
    b.make(m)
    m = parse_iccs("h9g7", b)
    assert to_chinese(b, m) == "马８进７"
    assert to_chinese(b, m, traditional=True) == "馬８進７"
    for text in ("马８进７", "馬８進７", "马8进7", "傌８進７"):
        assert parse_move(text, b) == m
    assert parse_move("h9g7", b) == m


def test_front_rear_and_middle():
    # two red rooks on file b (九路 from Red's right is file a; b is 八)
    b = Board.from_fen("3k5/9/9/9/9/1R7/9/9/1R7/4K4 w")
    front, rear = parse_iccs("b4b5"), parse_iccs("b1b2")
    assert to_chinese(b, front) == "前车进一" and to_chinese(b, rear) == "后车进一"
    assert parse_chinese("前车进一", b) == front and parse_chinese("後車進一", b) == rear
    # black: the front piece is the one nearer Red (lower rank)
    b = Board.from_fen("3k5/9/1c7/9/9/9/1c7/9/9/4K4 b")
    assert to_chinese(b, parse_iccs("b3b2")) == "前炮进１"
    assert to_chinese(b, parse_iccs("b7b6")) == "后炮进１"
    # three pawns on one file: 前/中/后
    b = Board.from_fen("5k3/9/4P4/4P4/4P4/9/9/9/9/3K5 w")
    assert [to_chinese(b, parse_iccs(m)) for m in ("e7d7", "e6d6", "e5d5")] == [
        "前兵平六", "中兵平六", "后兵平六"]
    assert parse_chinese("中兵平六", b) == parse_iccs("e6d6")
    # pawns doubled on two files: the file replaces the piece
    b = Board.from_fen("5k3/9/9/P3P4/P3P4/9/9/9/9/3K5 w")
    assert to_chinese(b, parse_iccs("a6a7")) == "前九进一"
    assert parse_chinese("后五平四", b) == parse_iccs("e5f5")
    # four pawns on a file: counted from the front
    b = Board.from_fen("5k3/4P4/4P4/4P4/4P4/9/9/9/9/3K5 w")
    assert to_chinese(b, parse_iccs("e7f7")) == "二兵平四"
    assert parse_chinese("四兵平六", b) == parse_iccs("e5d5")


def test_advisors_and_elephants_take_no_front_rear():
    b = Board.from_fen("3k5/9/9/9/9/9/9/3A5/9/3AK4 w")
    assert to_chinese(b, parse_iccs("d0e1")) == "仕六进五"
    assert to_chinese(b, parse_iccs("d2e1")) == "仕六退五"
    assert parse_chinese("仕六退五", b) == parse_iccs("d2e1")


@pytest.mark.parametrize("text, words", [
    ("炮二平", "four characters"),
    ("炮二走五", "进, 退 or 平"),
    ("炮二平十", "must be a number"),
    ("马二平三", "not a legal move"),
    ("车一平二", "not a legal move"),
    ("前车进一", "no single file"),
    ("帅五进五", "not a legal move"),
    ("象４进５", "no 相 on that file"),
    ("h2h8", "not a legal move"),
    ("z2e2", "files a-i"),
    ("h2e", "four characters"),
])
def test_bad_moves_are_named(text, words):
    with pytest.raises(NotationError, match=words):
        parse_move(text, Board.from_fen())


def test_round_trip_every_legal_move_of_real_games(liu_dahua_games):
    rng = random.Random(0)
    n = 0
    for game in rng.sample(liu_dahua_games, 8):
        b = Board.from_fen()
        for i, mv in enumerate(game.moves):
            if i % 3 == 0:
                for m in legal_moves(b):
                    assert parse_chinese(to_chinese(b, m), b) == m, (b.fen(), to_iccs(m))
                    assert parse_chinese(to_chinese(b, m, traditional=True), b) == m
                    n += 1
            b.make(parse_iccs(mv))
    assert n > 5000
