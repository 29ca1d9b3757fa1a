"""Milliseconds per move: all legal moves scored in one batch through the game's KV cache
(``score_continuations``) vs. one forward pass per legal move, same model, same positions.

    python benchmarks/chess.py [--plies 0,16,40] [--repeats 3] [--record]

CPU time of this process (``time.process_time``, one thread), so other jobs on a shared
machine do not inflate it. The model is a random 4 x 128 chess GPT (speed does not depend on
the weights) unless ``--model DIR`` is given; positions come from the first Liu Dahua game.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kexue.recipes.chess.board import Board  # noqa: E402
from kexue.recipes.chess.model import MoveScorer, build_model, load_model  # noqa: E402
from kexue.recipes.chess.movegen import legal_moves  # noqa: E402
from kexue.recipes.chess.notation import parse_iccs  # noqa: E402
from kexue.recipes.chess.pgn import read_games  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--plies", default="0,16,40")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--model", default=None)
    p.add_argument("--record", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = load_model(a.model) if a.model else build_model().eval()
    scorer = MoveScorer(model)
    data = Path(__file__).resolve().parents[2] / "shared/data/xiangqi/liu_dahua_1125_uci.pgn"
    if not data.exists():
        data = Path("/work/shared/data/xiangqi/liu_dahua_1125_uci.pgn")
    game = next(iter(read_games(data))).moves
    print(f"{'ply':>4} {'legal':>6} {'batched ms':>11} {'one-by-one ms':>14} {'speed-up':>9}")
    rows = []
    for ply in (int(x) for x in a.plies.split(",")):
        b = Board.from_fen()
        for mv in game[:ply]:
            b.make(parse_iccs(mv))
        legal = legal_moves(b)
        hist = game[:ply]
        times = {}
        for name, fn in (("batched", scorer.legal_scores), ("one", scorer.legal_scores_one_by_one)):
            fn(hist, legal)  # warm-up
            t = time.process_time()
            for _ in range(a.repeats):
                fn(hist, legal)
            times[name] = 1000 * (time.process_time() - t) / a.repeats
        rows.append((ply, len(legal), times["batched"], times["one"]))
        print(f"{ply:>4} {len(legal):>6} {times['batched']:>11.1f} {times['one']:>14.1f} "
              f"{times['one'] / times['batched']:>8.1f}x")
    if a.record:
        from experiments.chess_common import record

        for ply, n, fast, slow in rows:
            record(f"ms per move at ply {ply} ({n} legal moves): batched scoring vs one "
                   "forward per legal move", {"batched_ms": round(fast, 1),
                                              "one_by_one_ms": round(slow, 1),
                                              "speedup": round(slow / fast, 1)},
                   "ms CPU per move (process time, 1 thread)",
                   "first Liu Dahua game", "python benchmarks/chess.py " + " ".join(sys.argv[1:]),
                   notes=f"{a.model or 'random 4 x 128 chess GPT'}; CPU time, so the shared "
                         "machine's load does not count")


if __name__ == "__main__":
    main()
