"""DGCNN reading comprehension (5409, 6906): train, evaluate, lexical baseline on WebQA JSON.

Usage:

    kexue dgcnn train DATA -o MODEL_DIR [--split train] [--epochs 12] [--epochs-low 4]
    kexue dgcnn evaluate DATA -m MODEL_DIR [--split all] [--predictions OUT.jsonl] [--json]
    kexue dgcnn baseline DATA [--split all] [--window W | --choose-on TRAIN_DATA] [--json]

DATA is a WebQA JSON file (``../shared/data/webqa/README.md``), plain or compressed. Splits:
``train`` = the first 1,624 questions by id, ``heldout`` = the rest, ``all`` = every
question (evaluate any file in the same format with ``--split all``). Training selects its
best weights on a fixed 10 % of the training questions.
"""

from __future__ import annotations

import argparse
import json
import sys

from kexue.cli._exitcodes import RUNTIME_ERROR, USAGE_ERROR, check_input_file, did_you_mean

_SUBCOMMANDS = ("train", "evaluate", "baseline")


class _UsageError(Exception):
    """The command line names something unusable (a missing file, an existing output)."""


def _check_file(path: str, what: str) -> None:
    try:
        check_input_file(path, what)
    except ValueError as e:
        raise _UsageError(str(e)) from None


def _positive(kind):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if v < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return v
    return parse


def _load(path: str, split: str):
    from kexue.recipes.dgcnn.data import load_webqa, split_questions

    _check_file(path, "data file")
    qs = split_questions(load_webqa(path), split)
    if not qs:
        raise ValueError(f"{path}: the {split!r} split holds no question "
                         f"({'the file has at most 1,624' if split == 'heldout' else 'empty'})")
    return qs


def _print_scores(name: str, r: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"model": name, **r}))
    else:
        print(f"{name}: EM {r['em']:.4f}  F1 {r['f1']:.4f}  (EM+F1)/2 {r['score']:.4f}  "
              f"on {r['n']} questions")


def _train(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kexue dgcnn train",
                                description="Train a DGCNN reader from scratch (CPU minutes).")
    p.add_argument("data", help="WebQA JSON file")
    p.add_argument("-o", "--output", required=True, help="model directory to create")
    p.add_argument("--split", default="train", choices=["train", "heldout", "all"])
    p.add_argument("--epochs", type=_positive(int), default=12, help="epochs at the full LR")
    p.add_argument("--epochs-low", type=_positive(int), default=4, help="epochs at LR/10")
    p.add_argument("--lr", type=_positive(float), default=1e-3)
    p.add_argument("--hidden", type=_positive(int), default=64, help="channels (article: 128)")
    p.add_argument("--batch-size", type=_positive(int), default=32)
    p.add_argument("--loss", choices=["focal", "bce"], default="focal")
    p.add_argument("--no-match-feature", action="store_true",
                   help="no question-match feature (the 2019 release has none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=_positive(int), default=1)
    p.add_argument("--overwrite", action="store_true", help="replace an existing MODEL_DIR")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    import os

    import torch

    from kexue.recipes.dgcnn.data import select_split
    from kexue.recipes.dgcnn.train import TrainOptions, save_reader, train_reader

    if os.path.exists(args.output) and not args.overwrite:
        raise _UsageError(f"output {args.output} exists (pass --overwrite to replace it)")
    if args.epochs < 1:
        raise _UsageError("--epochs must be >= 1")
    parent = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(parent):
        raise _UsageError(f"the directory of {args.output} does not exist")
    qs = _load(args.data, args.split)
    if len(qs) < 2:
        raise ValueError(f"{args.data}: {len(qs)} question is too few to train and select")
    torch.set_num_threads(args.threads)
    fit_q, sel_q = select_split(qs)
    opts = TrainOptions(epochs=args.epochs, epochs_low=args.epochs_low, lr=args.lr,
                        batch_size=args.batch_size, loss=args.loss, seed=args.seed,
                        model={"hidden": args.hidden,
                               "match_feature": not args.no_match_feature})
    log = None if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    model, vocab, summary = train_reader(fit_q, sel_q, opts, log=log)
    save_reader(args.output, model, vocab, summary, overwrite=args.overwrite)
    if not args.quiet:
        _print_scores("select", summary["select"], False)
        print(f"model written to {args.output}", file=sys.stderr)
    return 0


def _evaluate(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kexue dgcnn evaluate",
                                description="Exact match and F1 of a DGCNN reader.")
    p.add_argument("data", help="WebQA JSON file")
    p.add_argument("-m", "--model", required=True, help="model directory (kexue dgcnn train)")
    p.add_argument("--split", default="all", choices=["train", "heldout", "all"])
    p.add_argument("--predictions", help="write one JSON line per question here")
    p.add_argument("--threshold", type=_positive(float), default=0.0,
                   help="answer nothing below this voted score (the release used 0.1)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = p.parse_args(argv)
    import os

    import torch

    from kexue.io.atomic import atomic_write, check_writable
    from kexue.recipes.dgcnn.metrics import score_answers
    from kexue.recipes.dgcnn.train import load_reader, predict

    torch.set_num_threads(1)
    if not os.path.isdir(args.model):
        raise _UsageError(f"model directory not found: {args.model}")
    if args.predictions:
        check_writable(args.predictions)
    model, vocab = load_reader(args.model)
    qs = _load(args.data, args.split)
    preds = predict(model, vocab, qs, threshold=args.threshold)
    r = score_answers(preds, [q.gold for q in qs])
    if args.predictions:
        with atomic_write(args.predictions, "w", like=args.data) as f:
            for q, a in zip(qs, preds):
                f.write(json.dumps({"id": q.qid, "answer": a, "gold": list(q.gold)},
                                   ensure_ascii=False) + "\n")
    _print_scores("dgcnn", r, args.json)
    return 0


def _baseline(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kexue dgcnn baseline",
                                description="The lexical baseline's exact match and F1.")
    p.add_argument("data", help="WebQA JSON file")
    p.add_argument("--split", default="all", choices=["train", "heldout", "all"])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--window", type=_positive(int), default=None,
                   help="context window in characters (default 8)")
    g.add_argument("--choose-on", metavar="TRAIN_DATA",
                   help="choose the window on the 'train' split of this file")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from kexue.recipes.dgcnn.baseline import choose_window, lexical_answer
    from kexue.recipes.dgcnn.metrics import score_answers

    window = 8 if args.window is None else args.window
    if args.choose_on:
        window, _ = choose_window(_load(args.choose_on, "train"))
    qs = _load(args.data, args.split)
    r = score_answers([lexical_answer(q, window) for q in qs], [q.gold for q in qs])
    _print_scores(f"lexical baseline (window {window})", r, args.json)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else USAGE_ERROR
    cmd, rest = argv[0], argv[1:]
    if cmd not in _SUBCOMMANDS:
        print(f"kexue dgcnn: unknown subcommand {cmd!r}{did_you_mean(cmd, _SUBCOMMANDS)} "
              f"(one of {', '.join(_SUBCOMMANDS)})", file=sys.stderr)
        return USAGE_ERROR
    run = {"train": _train, "evaluate": _evaluate, "baseline": _baseline}[cmd]
    try:
        return run(rest)
    except _UsageError as e:
        print(f"kexue dgcnn {cmd}: error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except (ValueError, OSError, RuntimeError) as e:  # bad data, a failed write
        print(f"kexue dgcnn {cmd}: error: {e}", file=sys.stderr)
        return RUNTIME_ERROR
