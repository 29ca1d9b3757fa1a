"""Play xiangqi against a GPT that only plays legal moves; train and evaluate it (7877).

Usage:

    kexue chess play [--red human|model|random] [--black ...] [--moves "h2e2 h9g7"] [--fen FEN]
    kexue chess train --run-dir DIR [--data DIR] [--steps N] [--curriculum 0:8,1000:4,1600:2]
    kexue chess eval FILE.pgn [--model DIR] [--baseline] [--games N]

The model is the shipped ``kexue-xiangqi`` unless ``--model DIR`` names another (an
HF-format directory, e.g. ``RUN_DIR/model``).
"""

from __future__ import annotations

import argparse
import json
import sys

from kexue.cli._exitcodes import (
    OK,
    RUNTIME_ERROR,
    USAGE_ERROR,
    check_input_file,
    did_you_mean,
    positive_int,
)

_SUBCOMMANDS = ("play", "train", "eval")
_DATA = "../shared/data/xiangqi"


def _curriculum(text: str):
    from kexue.recipes.chess.train import parse_curriculum

    try:
        return parse_curriculum(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _load(model_dir: str | None):
    """The scorer of ``model_dir`` or the shipped model; ``ValueError`` with the reason."""
    import torch

    from kexue.recipes.chess.model import MoveScorer, load_model

    torch.set_num_threads(1)  # tiny batches: one thread is fastest, and the CPU is shared
    if model_dir is None:
        import kexue.assets

        try:
            model_dir = str(kexue.assets.path("kexue-xiangqi"))
        except FileNotFoundError as e:
            raise ValueError(str(e)) from None
    try:
        check_input_file(f"{model_dir}/config.json", "model config")
        return MoveScorer(load_model(model_dir))
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot load the chess model {model_dir}: {e}") from None


def _train(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kexue chess train",
                                description="Train the chess GPT (fit loop, curriculum).")
    p.add_argument("--run-dir", required=True, help="checkpoints, log.csv and model/ go here; "
                   "the same command resumes")
    p.add_argument("--data", default=_DATA, help=f"the xiangqi data folder (default {_DATA})")
    p.add_argument("--split-cache", default=None,
                   help="JSON cache of the split (default RUN_DIR/split.json)")
    p.add_argument("--steps", type=positive_int, default=1250)
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--curriculum", type=_curriculum, default=None,
                   help="FIRST_STEP:N,... train on the first 512/N+1 tokens "
                        "(default 0:8,600:4,1000:2)")
    p.add_argument("--layers", type=positive_int, default=4)
    p.add_argument("--hidden", type=positive_int, default=128)
    p.add_argument("--heads", type=positive_int, default=4)
    p.add_argument("--checkpoint-every", type=positive_int, default=100)
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    p.add_argument("--export", action="store_true", help="do not train: write RUN_DIR/model "
                   "from the newest checkpoint (a run stopped early)")
    a = p.parse_args(argv)
    import torch

    from kexue.recipes.chess.data import load_split
    from kexue.recipes.chess.train import CPU_CURRICULUM, dev_slice, export, train
    from kexue.train import CheckpointError

    torch.set_num_threads(a.threads)
    from pathlib import Path

    run = Path(a.run_dir)
    if a.export:
        try:
            step = export(run / "checkpoints", run / "model", layers=a.layers, hidden=a.hidden,
                          heads=a.heads, curriculum=a.curriculum or CPU_CURRICULUM)
        except (OSError, CheckpointError) as e:
            print(f"kexue chess train: {e}", file=sys.stderr)
            return RUNTIME_ERROR
        print(f"model of step {step} written to {run / 'model'}")
        return OK
    try:
        run.mkdir(parents=True, exist_ok=True)
        split = load_split(a.data, a.split_cache or run / "split.json")
    except (OSError, ValueError) as e:
        print(f"kexue chess train: {e}", file=sys.stderr)
        return RUNTIME_ERROR
    games, dev = dev_slice([m for m, _ in split.train])
    print(json.dumps({**split.counts, "fit_games": len(games), "dev_games": len(dev)}),
          flush=True)
    train(games, run, steps=a.steps, batch_size=a.batch_size, lr=a.lr,
          curriculum=a.curriculum or CPU_CURRICULUM, layers=a.layers, hidden=a.hidden,
          heads=a.heads, checkpoint_every=a.checkpoint_every)
    print(f"model written to {run / 'model'}")
    return OK


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return OK
    name, rest = argv[0], argv[1:]
    if name not in _SUBCOMMANDS:
        print(f"kexue chess: unknown subcommand {name!r}{did_you_mean(name, _SUBCOMMANDS)}; "
              f"one of {', '.join(_SUBCOMMANDS)}", file=sys.stderr)
        return USAGE_ERROR
    if name == "train":
        return _train(rest)
    if name == "play":
        from kexue.recipes.chess.play import main as play_main

        return play_main(rest, _load)
    from kexue.recipes.chess.evaluate import main as eval_main

    return eval_main(rest, _load)
