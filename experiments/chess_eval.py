"""The chess GPT on games it never saw, against an opening-book baseline and in matches.

    python experiments/chess_eval.py --model runs/chess/gpt/model --run-dir runs/chess/gpt

1. Held-out per-move perplexity of the LM over all 4-character strings (teacher forcing,
   one forward per game) at each saved checkpoint: the first 16 plies of the 500 dev games
   (a slice of train) and of the Liu Dahua report games (``--curve-games`` of each).
2. Next-move top-1 / top-5 / perplexity over the legal moves on the first ``--games`` Liu
   Dahua games (plies 1-64, per phase) vs. the most-frequent-move-in-this-position book.
3. ``--random-games`` games against a random mover (200-ply limit, alternating colours);
   every game is replayed by cchess. Games are logged to RUN_DIR/match_random.jsonl and a
   rerun continues from there.
4. A few games against earlier checkpoints (``--self-step``; 2 random opening plies each, so
   the two deterministic players play different games).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.chess_common import DATA, record  # noqa: E402
from kexue.recipes.chess.board import START_FEN  # noqa: E402
from kexue.recipes.chess.data import load_split  # noqa: E402
from kexue.recipes.chess.evaluate import (  # noqa: E402
    OpeningBook,
    _book_scores,
    match,
    model_player,
    next_move_metrics,
)
from kexue.recipes.chess.game import random_player  # noqa: E402
from kexue.recipes.chess.model import MoveScorer, encode, load_model  # noqa: E402
from kexue.recipes.chess.referee import cchess_replay  # noqa: E402
from kexue.recipes.chess.train import (  # noqa: E402
    CPU_CURRICULUM,
    dev_slice,
    export,
    parse_curriculum,
)

LIU = "shared/data/xiangqi/liu_dahua_1125_uci.pgn"


def lm_move_perplexity(model, games, plies: int) -> float:
    """exp(mean over moves of -log p(4 characters | game so far)), all strings."""
    nll, n = 0.0, 0
    with torch.inference_mode():
        for moves in games:
            ids = torch.tensor([encode(moves[:plies])])
            logp = torch.log_softmax(model(ids[:, :-1]).logits.float(), -1)
            nll -= float(logp.gather(2, ids[:, 1:, None]).sum())
            n += len(moves[:plies])
    return math.exp(nll / n)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--games", type=int, default=30)
    p.add_argument("--random-games", type=int, default=200)
    p.add_argument("--shard", default="0/1",
                   help="K/N: play only the random-mover games g with g %% N == K, so N "
                        "processes can share the log; the record is written once all are in")
    p.add_argument("--self-games", type=int, default=10)
    p.add_argument("--self-step", default="200",
                   help="earlier checkpoint step(s) to play, comma-separated")
    p.add_argument("--curve-games", type=int, default=200)
    p.add_argument("--parts", default="next,random,curve,self")
    p.add_argument("--curriculum", type=parse_curriculum, default=CPU_CURRICULUM,
                   help="the run's curriculum (checkpoints are exported with the positions it "
                        "had trained)")
    a = p.parse_args()
    torch.set_num_threads(1)
    cmd = "python experiments/chess_eval.py " + " ".join(sys.argv[1:])
    run = Path(a.run_dir)
    split = load_split(DATA, run / "split.json")
    train_games = [m for m, _ in split.train]
    _, dev = dev_slice(train_games)
    report = [m for m, _ in split.report]
    scorer = MoveScorer(load_model(a.model))
    parts = a.parts.split(",")

    if "curve" in parts:
        rows = []
        for ck in sorted((run / "checkpoints").glob("ckpt-*.kexue")):
            out = run / "eval" / ck.stem
            step = export(ck, out, curriculum=a.curriculum)
            m = load_model(out)
            rows.append((step, round(lm_move_perplexity(m, dev[: a.curve_games], 16), 2),
                         round(lm_move_perplexity(m, report[: a.curve_games], 16), 2)))
            print(rows[-1], flush=True)
        record("held-out per-move perplexity (all 4-char strings, plies 1-16) by training "
               "step: dev slice / Liu Dahua report games", {"step_dev_report": rows},
               "perplexity", f"first {a.curve_games} of the 500 dev games (slice of train); "
               f"first {a.curve_games} Liu Dahua games", cmd,
               article="7877")

    if "next" in parts:
        games = report[: a.games]
        t = time.process_time()
        model = next_move_metrics(scorer.scores, games, max_plies=64)
        book = OpeningBook(train_games, max_plies=40)
        base = next_move_metrics(lambda b, h: _book_scores(book, b), games, max_plies=64)
        for who, res in (("model", model), ("book", base)):
            record(f"next-move top-1 / top-5 accuracy and per-move perplexity over the legal "
                   f"moves, {who}", res, "% / % / perplexity", f"{LIU}: first {len(games)} "
                   "games, plies 1-64 (report split)", cmd, article="7877",
                   notes="book = most frequent move in this position in the 25,142 training "
                         "games (first 40 plies), add-one smoothed, uniform when unseen; "
                         f"{time.process_time() - t:.0f} s CPU")

    if "random" in parts:
        log = run / "match_random.jsonl"
        k, n_shards = (int(x) for x in a.shard.split("/"))
        if not 0 <= k < n_shards:
            p.error(f"--shard K/N needs 0 <= K < N, got {a.shard}")

        def logged() -> list[dict]:
            return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []

        have = {r["game"] for r in logged()}
        model_p = model_player(scorer)
        for g in range(a.random_games):
            if g in have or g % n_shards != k:
                continue

            def keep(moves, result, reason, g=g):
                cchess_replay(moves, START_FEN)  # the second legality implementation
                row = {"game": g, "model_red": g % 2 == 0, "result": result,
                       "reason": reason, "plies": len(moves), "moves": moves}
                with open(log, "a", encoding="utf-8") as f:  # one short append per game
                    f.write(json.dumps(row) + "\n")
                print(g, result, reason, len(moves), flush=True)
            rand = random_player(g)  # one game a call: the model is Red in even games
            match(*((model_p, rand) if g % 2 == 0 else (rand, model_p)), 1, on_game=keep)
        done = sorted({r["game"]: r for r in logged()}.values(), key=lambda r: r["game"])
        if len(done) < a.random_games:
            print(f"{len(done)} of {a.random_games} random-mover games logged; the record "
                  "is written by the run that logs the last one", flush=True)
            done = []
    if "random" in parts and done:
        w = sum((r["result"] == "1-0") == r["model_red"] and r["result"] != "1/2-1/2"
                for r in done)
        d = sum(r["result"] == "1/2-1/2" for r in done)
        n = len(done)
        record("match score of the model against a random mover (win 1, draw 1/2)",
               round((w + d / 2) / n, 3), "score", f"{n} games from the start, 200-ply "
               "limit, alternating colours", cmd,
               notes=f"{w} won, {d} drawn, {n - w - d} lost; every game replayed legally by "
                     "cchess 1.25.5; mean "
                     f"{sum(r['plies'] for r in done) / n:.0f} plies; reasons "
                     f"{sorted({r['reason'] for r in done})}")

    if "self" in parts and a.self_games:
        for step in (int(x) for x in a.self_step.split(",")):
            old = run / "eval" / f"step{step}"
            ck = run / "checkpoints" / f"ckpt-{step:09d}.kexue"
            export(ck, old, curriculum=a.curriculum)
            early = MoveScorer(load_model(old))
            res = match(model_player(scorer), model_player(early), a.self_games,
                        random_plies=2, seed=1,
                        on_game=lambda m, r, why: cchess_replay(m, START_FEN))
            print(step, res, flush=True)
            record(f"match score of the final model against its step-{step} checkpoint",
                   round(res["score"], 3), "score", f"{a.self_games} games, 2 random opening "
                   "plies each, 200-ply limit, alternating colours", cmd,
                   notes=f"{res}; every game replayed legally by cchess")

if __name__ == "__main__":
    main()
