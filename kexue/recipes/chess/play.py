"""``kexue chess play``: a game in the terminal (human, model or random on either side).

A human types moves as ICCS (``h2e2``) or Chinese notation (``炮二平五``, ``马8进7``,
``前车进一``); ``hint`` shows the model's top 3 moves with probabilities, ``moves`` lists the
legal moves, ``undo`` takes back the last full move, ``quit`` ends the game. A bad or illegal
move gets a message naming the problem and the prompt comes back: the game goes on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from kexue.cli._exitcodes import OK, RUNTIME_ERROR, USAGE_ERROR
from kexue.recipes.chess.board import START_FEN, FENError
from kexue.recipes.chess.display import render
from kexue.recipes.chess.game import GameState, random_player
from kexue.recipes.chess.movegen import legal_moves
from kexue.recipes.chess.notation import NotationError, parse_move, to_chinese, to_iccs

__all__ = ["main", "top_moves"]

_OUTSIDE = ("(set-up position: the model only ever saw games from the standard start, so "
            "its suggestions here are outside its training)")


def top_moves(scorer, game: GameState, k: int = 3) -> list[tuple[str, str, float]]:
    """The model's ``k`` best moves as ``(iccs, chinese, probability)``; probabilities are
    normalised over the legal moves."""
    legal, logp = scorer.scores(game.board, game.moves)
    order = logp.argsort(descending=True)[:k].tolist()
    return [(to_iccs(legal[i]), to_chinese(game.board, legal[i]), float(logp[i].exp()))
            for i in order]


def _fmt_top(top) -> str:
    return "  ".join(f"{c} {i} {p:.0%}" for i, c, p in top)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kexue chess play",
                                description="Play xiangqi in the terminal.")
    for side, default in (("red", "human"), ("black", "model")):
        p.add_argument(f"--{side}", choices=("human", "model", "random"), default=default,
                       help=f"who plays {side} (default {default})")
    p.add_argument("--moves", default="", help="moves to play first, ICCS or Chinese, "
                   "separated by spaces or commas")
    p.add_argument("--fen", default=START_FEN, help="start from this position instead")
    p.add_argument("--model", default=None, help="a chess model directory (default: shipped)")
    p.add_argument("--top", action="store_true", help="show the model's top 3 at every move")
    p.add_argument("--max-plies", type=int, default=200, help="draw after this many plies")
    p.add_argument("--seed", type=int, default=0, help="seed of the random player")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument("--quiet", action="store_true", help="no board, one line a move")
    return p


def main(argv: list[str], load: Callable[[str | None], object]) -> int:
    a = _parser().parse_args(argv)
    color = a.color == "always" or (a.color == "auto" and sys.stdout.isatty())
    try:
        game = GameState(a.fen)
        for mv in a.moves.replace(",", " ").split():
            game.push(parse_move(mv, game.board))
    except (FENError, NotationError, ValueError) as e:
        print(f"kexue chess play: {e}", file=sys.stderr)
        return USAGE_ERROR
    needs_model = "model" in (a.red, a.black) or a.top or "human" in (a.red, a.black)
    scorer = None
    if needs_model:
        try:
            scorer = load(a.model)
        except ValueError as e:
            if "model" in (a.red, a.black):
                print(f"kexue chess play: {e}", file=sys.stderr)
                return RUNTIME_ERROR
            print(f"(no model, so no hints: {e})")
    rand = random_player(a.seed)
    out = sys.stdout
    last = None

    def show() -> None:
        if not a.quiet:
            print(render(game.board, color=color, last=last), file=out)

    if not game.standard_start and scorer is not None:
        print(_OUTSIDE, file=out)
    show()
    while (done := game.result(a.max_plies)) is None:
        who = a.red if game.board.red else a.black
        side = "红 Red" if game.board.red else "黑 Black"
        if who == "human":
            try:
                text = input(f"{side} move (ICCS or 中文; hint, moves, undo, quit)> ").strip()
            except EOFError:
                print("\n(end of input: game abandoned)", file=out)
                return OK
            if not text:
                continue
            if text in ("quit", "exit", "q"):
                print("game abandoned", file=out)
                return OK
            if text in ("hint", "?", "top"):
                if scorer is None:
                    print("no model loaded: no hints", file=out)
                else:
                    print(f"model suggests: {_fmt_top(top_moves(scorer, game))}", file=out)
                continue
            if text == "moves":
                print(" ".join(sorted(f"{to_iccs(m)}({to_chinese(game.board, m)})"
                                      for m in legal_moves(game.board))), file=out)
                continue
            if text == "undo":
                # both sides human: one ply; else the human's move and the reply
                n = min(1 if a.red == a.black else 2, len(game.moves))
                for _ in range(n):
                    game.pop()
                last = None
                show()
                continue
            try:
                move = parse_move(text, game.board)
            except NotationError as e:
                print(f"not played: {e}", file=out)
                continue
        elif who == "model":
            if a.top:
                print(f"model's top 3: {_fmt_top(top_moves(scorer, game))}", file=out)
            move = scorer.best(game.board, game.moves)
        else:
            move = rand(game)
        text = f"{len(game.moves) + 1}. {side}: {to_chinese(game.board, move)} ({to_iccs(move)})"
        game.push(move)
        last = move
        print(text, file=out)
        show()
    result, reason = done
    print(f"game over: {result} ({reason}) after {len(game.moves)} plies", file=out)
    print("moves: " + " ".join(game.moves), file=out)
    return OK

