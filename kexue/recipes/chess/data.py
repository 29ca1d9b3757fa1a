"""The fixed xiangqi split (CONVENTIONS §4) and its counts.

- **train**: the CCPD games (``ccpd_games.pgn.gz``), deduplicated by move sequence (the same
  game is filed under several folders), standard start only (others counted and left out),
  minus every game whose moves equal a Liu Dahua game; games with no moves are dropped.
- **report**: the 1,125 Liu Dahua ICCS games (``liu_dahua_1125_uci.pgn``), never trained on.

Records are deduplicated on their movetext tokens before the (slower) replay, then again on
the ICCS move sequence. :func:`load_split` caches the result as JSON (atomic write).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kexue.io.atomic import write_text
from kexue.recipes.chess.pgn import RESULTS, Game, GameError, _game, read_games, read_records

__all__ = ["Split", "build_split", "load_split", "CCPD", "LIU_DAHUA"]

CCPD = "ccpd_games.pgn.gz"
LIU_DAHUA = "liu_dahua_1125_uci.pgn"


@dataclass
class Split:
    """``train`` / ``report``: lists of ``(moves, result)``; ``counts``: what was kept and why
    the rest was not."""

    train: list[tuple[list[str], str]]
    report: list[tuple[list[str], str]]
    counts: dict[str, int] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)


def _is_move(tok: str) -> bool:
    return not (tok in RESULTS or tok.rstrip(".").isdigit())


def build_split(data_dir: str | Path) -> Split:
    """Read both files under ``data_dir`` and build the split (a few minutes on one core)."""
    data_dir = Path(data_dir)
    c: Counter[str] = Counter({k: 0 for k in (
        "ccpd_records", "ccpd_no_moves", "ccpd_nonstandard_start", "ccpd_duplicate",
        "ccpd_rejected", "ccpd_equal_to_report_game")})
    rejected: list[str] = []
    report_errors: list[GameError] = []
    report = list(read_games(data_dir / LIU_DAHUA, errors=report_errors))
    c["report_records"] = len(report) + len(report_errors)
    c["report_games"] = len(report)
    c["report_rejected"] = len(report_errors)
    rejected += [str(e) for e in report_errors]
    liu = {tuple(g.moves) for g in report}

    seen_tokens: set[tuple[str, ...]] = set()
    seen_moves: set[tuple[str, ...]] = set()
    train: list[tuple[list[str], str]] = []
    path = data_dir / CCPD
    for index, (start, headers, tokens) in enumerate(read_records(path), 1):
        c["ccpd_records"] += 1
        moves_tok = tuple(t for t in tokens if _is_move(t))
        if not moves_tok:
            c["ccpd_no_moves"] += 1
            continue
        fen = headers.get("FEN", "")
        if fen and fen.split()[:2] != Game([]).fen.split()[:2]:
            c["ccpd_nonstandard_start"] += 1
            continue
        if moves_tok in seen_tokens:
            c["ccpd_duplicate"] += 1
            continue
        seen_tokens.add(moves_tok)
        try:
            game = _game(str(path), index, start, headers, tokens)
        except GameError as e:
            c["ccpd_rejected"] += 1
            rejected.append(str(e))
            continue
        key = tuple(game.moves)
        if key in seen_moves:
            c["ccpd_duplicate"] += 1
            continue
        seen_moves.add(key)
        if key in liu:
            c["ccpd_equal_to_report_game"] += 1
            continue
        train.append((game.moves, game.result))
    c["train_games"] = len(train)
    c["train_plies"] = sum(len(m) for m, _ in train)
    c["report_plies"] = sum(len(g.moves) for g in report)
    return Split(train, [(g.moves, g.result) for g in report], dict(c), rejected)


def load_split(data_dir: str | Path, cache: str | Path | None = None) -> Split:
    """:func:`build_split`, read from / written to the JSON file ``cache`` when given."""
    if cache is not None and Path(cache).is_file():
        d = json.loads(Path(cache).read_text(encoding="utf-8"))
        return Split([tuple(x) for x in d["train"]], [tuple(x) for x in d["report"]],
                     d["counts"], d["rejected"])
    split = build_split(data_dir)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        write_text(cache, json.dumps({"counts": split.counts, "rejected": split.rejected,
                                      "train": split.train, "report": split.report}))
    return split
