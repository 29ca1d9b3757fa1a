"""The fixed split on small files: dedup by moves, non-standard starts counted and left out,
games equal to a report game removed, unreadable games counted with the reason."""

from kexue.recipes.chess.data import CCPD, LIU_DAHUA, load_split

START = "rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABNR w - - 0 1"


def _rec(moves, fen=START, event="e"):
    return f'[Event "{event}"]\n[Result "1-0"]\n[FEN "{fen}"]\n\n{moves}\n1-0\n\n'


def test_split_counts_and_cache(tmp_path):
    (tmp_path / LIU_DAHUA).write_text(
        '[Event "L"]\n\n1. h2e2 h9g7 2. h0g2 i9h9\n\n[Event "M"]\n\n1. b2e2 b9c7\n\n',
        encoding="utf-8")
    ccpd = (_rec("1. 炮二平五 馬８進７\n2. 馬二進三 車９平８")  # equals report game L
            + _rec("1. 炮二平五 馬８進７", event="kept")
            + _rec("1.  炮二平五  馬８進７", event="copy")  # same moves, other spacing
            + _rec("1. 兵七進一 卒７進１")
            + _rec("1. 車五平六", fen="4k4/9/9/9/9/9/9/9/9/R3K4 w - - 0 1")
            + _rec("1. 炮二平五 車１進９")  # an illegal move
            + '[Event "empty"]\n[Result "1-0"]\n\n1-0\n\n')
    (tmp_path / CCPD).write_text(ccpd, encoding="utf-8")
    cache = tmp_path / "cache" / "split.json"
    split = load_split(tmp_path, cache)
    assert split.train == [(["h2e2", "h9g7"], "1-0"), (["c3c4", "g6g5"], "1-0")]
    assert len(split.report) == 2 and split.report[1] == (["b2e2", "b9c7"], "*")
    c = split.counts
    assert c["ccpd_records"] == 7 and c["ccpd_equal_to_report_game"] == 1
    assert c["ccpd_duplicate"] == 1 and c["ccpd_nonstandard_start"] == 1
    assert c["ccpd_no_moves"] == 1 and c["ccpd_rejected"] == 1
    assert "game 6" in split.rejected[0] and "ply 2" in split.rejected[0]
    again = load_split(tmp_path / "nowhere", cache)  # read back from the cache
    assert [list(x) for x in again.train] == [list(x) for x in split.train]
    assert again.counts == c
