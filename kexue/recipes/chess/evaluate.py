"""Evaluation: next-move accuracy and perplexity on games, the opening-book baseline, matches.

- **Next move** (teacher forcing): at every ply of a game, the model's distribution over the
  *legal* moves (:meth:`MoveScorer.scores`); top-1 / top-5 = the played move is the most
  likely / among the 5 most likely; per-move perplexity = ``exp(mean -log p(played move))``.
  Ties are broken at random, in expectation: a played move tied with ``t - 1`` others just
  below ``g`` better ones is in the top ``k`` with probability ``clip((k - g) / t, 0, 1)``.
  (Pitfall: counting only the strictly better moves credits every tie to the played move, so
  a scorer with no opinion, e.g. a book outside its positions, would score 100 %.)
- **Baseline**: the most frequent move in this position in the training games (an opening
  book keyed by the placement and side to move); its probabilities are the book counts with
  add-one smoothing over the legal moves, uniform where the book has no entry.
- **Match**: the model (argmax over legal moves) against a random mover or another model,
  alternating colours, 200-ply limit (a draw), win 1 / draw ½.

Only games from the standard start are scored (the model conditions on the moves from it).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence

import torch

from kexue.cli._exitcodes import OK, RUNTIME_ERROR, USAGE_ERROR, check_input_file
from kexue.recipes.chess.board import Board
from kexue.recipes.chess.game import GameState, random_player
from kexue.recipes.chess.movegen import legal_moves
from kexue.recipes.chess.notation import parse_iccs, to_iccs

__all__ = ["OpeningBook", "next_move_metrics", "topk_probability", "match", "PHASES", "main"]

#: ply ranges reported separately (1-based, inclusive)
PHASES = ((1, 16), (17, 32), (33, 64), (65, 10_000))


class OpeningBook:
    """Move counts per position (placement + side to move) from training games."""

    def __init__(self, games: Iterable[Sequence[str]], max_plies: int = 40) -> None:
        self.counts: dict[tuple, Counter] = defaultdict(Counter)
        for moves in games:
            b = Board.from_fen()
            for mv in moves[:max_plies]:
                self.counts[b.key()][mv] += 1
                b.make(parse_iccs(mv))

    def scores(self, board: Board, legal: Sequence) -> torch.Tensor:
        """Log-probabilities over ``legal``: add-one smoothed counts (uniform if unseen)."""
        c = self.counts.get(board.key(), Counter())
        n = torch.tensor([c[to_iccs(m)] + 1.0 for m in legal], dtype=torch.float64)
        return torch.log(n / n.sum())


def next_move_metrics(score: Callable[[Board, list[str]], tuple[list, torch.Tensor]],
                      games: Iterable[Sequence[str]], *, max_plies: int | None = None
                      ) -> dict:
    """Top-1 / top-5 accuracy (%) and per-move perplexity of ``score(board, history) ->
    (legal, log p)`` over every ply of ``games``, overall and per phase (:data:`PHASES`)."""
    tot = {"n": 0, "top1": 0, "top5": 0, "nll": 0.0}
    per = {p: dict(tot) for p in PHASES}
    for moves in games:
        b = Board.from_fen()
        for i, mv in enumerate(moves[:max_plies] if max_plies else moves):
            legal, logp = score(b, list(moves[:i]))
            m = parse_iccs(mv)
            j = legal.index(m)
            better = int((logp > logp[j]).sum())
            tied = int((logp == logp[j]).sum())
            for d in (tot, next(per[p] for p in PHASES if p[0] <= i + 1 <= p[1])):
                d["n"] += 1
                d["top1"] += topk_probability(better, tied, 1)
                d["top5"] += topk_probability(better, tied, 5)
                d["nll"] -= float(logp[j])
            b.make(m)
    return {"all": _summary(tot), **{f"plies {a}-{b if b < 10_000 else ''}".rstrip("-")
                                     + ("+" if b >= 10_000 else ""): _summary(d)
                                     for (a, b), d in per.items() if d["n"]}}


def topk_probability(better: int, tied: int, k: int) -> float:
    """Probability that a move with ``better`` strictly better moves and ``tied`` moves of
    its own score (itself included) is among the top ``k`` when ties are broken at random."""
    return min(1.0, max(0.0, (k - better) / tied))


def _summary(d: dict) -> dict:
    n = max(d["n"], 1)
    return {"moves": d["n"], "top1": 100 * d["top1"] / n, "top5": 100 * d["top5"] / n,
            "perplexity": math.exp(d["nll"] / n)}


def match(first, second, games: int, *, max_plies: int = 200, random_plies: int = 0,
          seed: int = 0, on_game: Callable | None = None) -> dict:
    """``first`` against ``second`` (players: ``game -> move``), colours alternating (first is
    Red in even games). ``random_plies``: open each game with that many random moves, so
    two deterministic players play different games. Returns wins/draws/losses and score of
    ``first``; ``on_game(moves, result, reason)`` sees every game."""
    rng = random.Random(seed)
    w = d = lo = 0
    plies = []
    for g in range(games):
        red, black = (first, second) if g % 2 == 0 else (second, first)
        game = GameState()
        for _ in range(random_plies):
            if game.result(max_plies) is None:
                game.push(rng.choice(legal_moves(game.board)))
        while (done := game.result(max_plies)) is None:
            game.push((red if game.board.red else black)(game))
        result, reason = done
        if on_game is not None:
            on_game(list(game.moves), result, reason)
        plies.append(len(game.moves))
        first_red = g % 2 == 0
        if result == "1/2-1/2":
            d += 1
        elif (result == "1-0") == first_red:
            w += 1
        else:
            lo += 1
    return {"games": games, "wins": w, "draws": d, "losses": lo,
            "score": (w + 0.5 * d) / max(games, 1), "mean_plies": sum(plies) / max(games, 1)}


def model_player(scorer) -> Callable:
    return lambda game: scorer.best(game.board, game.moves)


def main(argv: list[str], load: Callable[[str | None], object]) -> int:
    p = argparse.ArgumentParser(
        prog="kexue chess eval",
        description="Next-move top-1/top-5 accuracy and perplexity on a PGN file; matches.")
    p.add_argument("pgn", help="a PGN file (ICCS or Chinese movetext, plain or gzipped)")
    p.add_argument("--model", default=None, help="a chess model directory (default: shipped)")
    p.add_argument("--games", type=int, default=None, help="score only the first N games")
    p.add_argument("--book", default=None,
                   help="also score the opening-book baseline built from this PGN file")
    p.add_argument("--match-random", type=int, default=0, metavar="N",
                   help="also play N games against a random mover")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args(argv)
    from kexue.recipes.chess.pgn import read_games

    try:
        path = check_input_file(a.pgn, "PGN file")
        if a.book:
            check_input_file(a.book, "book PGN file")
    except ValueError as e:
        print(f"kexue chess eval: {e}", file=sys.stderr)
        return USAGE_ERROR
    try:
        scorer = load(a.model)
    except ValueError as e:
        print(f"kexue chess eval: {e}", file=sys.stderr)
        return RUNTIME_ERROR
    errors: list = []
    games = [g.moves for g in read_games(path, errors=errors) if g.standard_start]
    for e in errors:
        print(f"skipped: {e}", file=sys.stderr)
    if a.games:
        games = games[: a.games]
    if not games:
        print(f"kexue chess eval: no readable game from the standard start in {a.pgn}",
              file=sys.stderr)
        return RUNTIME_ERROR
    torch.set_num_threads(1)
    out = {"file": str(a.pgn), "games": len(games), "skipped": len(errors),
           "model": next_move_metrics(scorer.scores, games, max_plies=scorer.max_plies)}
    if a.book:
        book = OpeningBook(g.moves for g in read_games(a.book, errors=[]))
        out["book"] = next_move_metrics(lambda b, h: _book_scores(book, b), games,
                                        max_plies=scorer.max_plies)
    if a.match_random:
        out["match_random"] = match(model_player(scorer), random_player(0), a.match_random)
    if a.json:
        print(json.dumps(out))
        return OK
    print(f"{out['games']} games from {a.pgn} ({out['skipped']} unreadable records skipped)")
    print(f"{'scorer':<8} {'plies':<10} {'moves':>7} {'top-1 %':>8} {'top-5 %':>8} "
          f"{'ppl':>7}")
    for who in ("model", "book"):
        for phase, s in out.get(who, {}).items():
            print(f"{who:<8} {phase:<10} {s['moves']:>7} {s['top1']:>8.1f} {s['top5']:>8.1f} "
                  f"{s['perplexity']:>7.2f}")
    if a.match_random:
        m = out["match_random"]
        print(f"vs random: {m['wins']} won, {m['draws']} drawn, {m['losses']} lost of "
              f"{m['games']} (score {m['score']:.3f})")
    return OK


def _book_scores(book: OpeningBook, board: Board):
    legal = legal_moves(board)
    return legal, book.scores(board, legal)
