"""PGN readers: both real files' formats, results, corrupt records named by game and line."""

import gzip

import pytest

from kexue.recipes.chess.pgn import GameError, read_games, replay

CHINESE = """[Game "Chinese Chess"]
[Event "a \\"quoted\\" event"]
[Result "1-0"]
[FEN "rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABNR w - - 0 1"]

1. 炮二平五 馬８進７
2. 馬二進三  車９平８
3. 車一平二 1-0

[Game "Chinese Chess"]
[Event "bad move"]
[Result "0-1"]

1. 炮二平五 馬８進７
2. 馬二進四 車９平８
0-1

[Game "Chinese Chess"]
[Event "black starts"]
[Result "*"]
[FEN "4k4/9/9/9/9/9/9/9/4R4/3K5 b - - 0 1"]

1.          將５平６
*
"""


def test_read_chinese_pgn_with_errors_named(tmp_path):
    p = tmp_path / "games.pgn.gz"
    with gzip.open(p, "wt", encoding="utf-8") as f:
        f.write(CHINESE)
    errors = []
    games = list(read_games(p, errors=errors))
    assert [g.moves for g in games] == [["h2e2", "h9g7", "h0g2", "i9h9", "i0h0"], ["e9f9"]]
    assert games[0].result == "1-0" and games[0].headers["Event"] == 'a "quoted" event'
    assert games[0].standard_start and not games[1].standard_start
    assert len(errors) == 1
    e = errors[0]
    assert (e.index, e.line) == (2, 10) and "ply 3" in e.reason and "馬二進四" in e.reason
    with pytest.raises(GameError, match=r"game 2 \(line 10\)"):
        list(read_games(p))


def test_corrupt_records(tmp_path):
    p = tmp_path / "bad.pgn"
    p.write_text('[Event "x"]\n[FEN "rnbakabnr/9 w"]\n\n1. h2e2 *\n\n'
                 '[Event "y"]\n\n1. h2e2 h9g7 2. h0g2 x9y9\n\n'
                 '[Event "z"]\n\n1. h2e2 h9g7 2. 2-1\n', encoding="utf-8")
    errors = []
    assert list(read_games(p, errors=errors)) == []
    assert [(e.index, e.line) for e in errors] == [(1, 1), (2, 6), (3, 10)]
    assert "2 ranks" in errors[0].reason
    assert "ply 4" in errors[1].reason and "x9y9" in errors[1].reason
    assert "2-1" in errors[2].reason


def test_liu_dahua_games_replay(liu_dahua_games):
    assert len(liu_dahua_games) == 100
    assert liu_dahua_games[0].moves[:2] == ["h2e2", "b9c7"]
    assert liu_dahua_games[0].headers["Black"] == "LIU DaHua"
    for g in liu_dahua_games:
        replay(g.moves)  # every move legal (kexue's rules)
    with pytest.raises(ValueError, match="ply 2: h2e2 is not a legal move"):
        replay(["h2e2", "h2e2"])
