"""Rules check on real data: perft 1-4 from the start, every Liu Dahua game replayed, kexue's
move generator against cchess on positions from real games, and the split's counts.

    python experiments/chess_perft.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.chess_common import DATA, record  # noqa: E402
from kexue.recipes.chess.board import Board  # noqa: E402
from kexue.recipes.chess.data import load_split  # noqa: E402
from kexue.recipes.chess.movegen import legal_moves, perft  # noqa: E402
from kexue.recipes.chess.notation import parse_iccs, to_iccs  # noqa: E402
from kexue.recipes.chess.pgn import read_games, replay  # noqa: E402
from kexue.recipes.chess.referee import cchess_legal_moves, cchess_perft  # noqa: E402

CMD = "python experiments/chess_perft.py"
PUBLISHED = {1: 44, 2: 1920, 3: 79666, 4: 3290240}


def main() -> None:
    for depth, want in PUBLISHED.items():
        t = time.process_time()
        n = perft(Board.from_fen(), depth)
        assert n == want, (depth, n, want)
        record(f"perft depth {depth} from the initial position", n, "leaf nodes",
               "initial position", CMD,
               **({"article": "7877", "article_value": want} if depth == 1 else {}),
               notes=f"published value {want}; {time.process_time() - t:.1f} s CPU")
    liu = DATA / "liu_dahua_1125_uci.pgn"
    errors: list = []
    games = list(read_games(liu, errors=errors))
    for g in games:
        replay(g.moves)
    record("Liu Dahua ICCS games that replay legally (kexue rules)", len(games), "games",
           "shared/data/xiangqi/liu_dahua_1125_uci.pgn", CMD,
           notes=f"{len(errors)} unreadable; {sum(len(g.moves) for g in games)} plies; "
                 f"largest legal-move count seen "
                 f"{max(_max_legal(g.moves) for g in games[:200])} (first 200 games)")
    rng = random.Random(0)
    checked = agree = 0
    perft2 = []
    for g in rng.sample(games, 40):
        b = Board.from_fen()
        for i, mv in enumerate(g.moves):
            if i % 12 == 6:
                checked += 1
                agree += sorted(to_iccs(m) for m in legal_moves(b)) == cchess_legal_moves(b.fen())
                if len(perft2) < 10 and i > 20:
                    perft2.append(perft(b, 2) == cchess_perft(b.fen(), 2))
            b.make(parse_iccs(mv))
    record("positions from real games where kexue's legal moves equal cchess's", agree,
           "positions", "40 Liu Dahua games, every 12th ply", CMD,
           notes=f"of {checked}; perft depth 2 equal on {sum(perft2)} of {len(perft2)} "
                 "middle-game positions")
    split = load_split(DATA, Path(__file__).resolve().parents[1] / "runs/chess/split.json")
    c = split.counts
    record("CCPD games in the training split (dedup by moves, standard start, minus Liu Dahua "
           "games)", c["train_games"], "games", "shared/data/xiangqi/ccpd_games.pgn.gz", CMD,
           notes=f"counts: {c}; rejected: {split.rejected}")


def _max_legal(moves) -> int:
    b = Board.from_fen()
    best = 0
    for mv in moves:
        best = max(best, len(legal_moves(b)))
        b.make(parse_iccs(mv))
    return best


if __name__ == "__main__":
    main()
