"""``kexue mwp``: solve Chinese math word problems with a UniLM seq2seq (kexue.fm/archives/7809).

    kexue mwp solve "鸡兔同笼，共有头35个，脚94只，问鸡有多少只？" --model DIR
    kexue mwp train --out DIR                  # resumable: the same command continues
    kexue mwp eval FILE --model DIR [--beams 3] [--constrained] [--split heldout]
    kexue mwp baseline FILE                    # TF-IDF nearest training question

FILE is any file in Ape210K's JSON-lines format (``id``, ``original_text``, ``equation``,
``ans``); ``--split heldout`` scores only the last 1,000 retained problems by id (the report
split of ``../shared/CONVENTIONS.md``, for Ape210K's validation file).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from kexue.cli._exitcodes import (
    RUNTIME_ERROR,
    USAGE_ERROR,
    UsageError,
    check_input_file,
    positive_float,
    positive_int,
)

MAX_PROBLEM_CHARS = 1000
_CJK = re.compile(r"[\u4e00-\u9fff]")
_DIGIT = re.compile(r"\d")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kexue mwp", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("solve", help="solve one typed problem")
    s.add_argument("problem", help="the problem text (Chinese)")
    s.add_argument("--model", help="solver directory (default: the shipped kexue-mwp-mini-zh; "
                   "or kexue mwp train --out DIR, then DIR/best)")
    s.add_argument("--beams", type=positive_int, default=3, help="beam width (default 3)")
    s.add_argument("--free", action="store_true", help="decode without the well-formedness "
                   "constraint (default: constrained)")

    t = sub.add_parser("train", help="fine-tune a solver (resumable)")
    t.add_argument("--out", required=True, help="run directory (checkpoints, last/, best/)")
    t.add_argument("--data", default="../shared/data",
                   help="folder holding ape210k/ and math23k/ (default ../shared/data)")
    t.add_argument("--checkpoint", help="starting BERT-family checkpoint with an MLM head "
                   "(default: the shipped kexue-mini-zh)")
    t.add_argument("--family", help="model family of --checkpoint (bert, roformer, ...)")
    t.add_argument("--random-init", action="store_true",
                   help="same shape, random weights (what pretraining buys)")
    t.add_argument("--number-slots", type=int, default=0, metavar="N",
                   help="write the question's first N distinct numbers as slots [N0]... and "
                   "the equation over them (number mapping; default 0: literal numbers, as "
                   "the article)")
    t.add_argument("--no-math23k", action="store_true", help="train on Ape210K only")
    t.add_argument("--epochs", type=positive_int, default=30)
    t.add_argument("--batch-size", type=positive_int, default=32)
    t.add_argument("--lr", type=positive_float, default=3e-4)
    t.add_argument("--limit", type=positive_int, help="train on the first N problems only")
    t.add_argument("--checkpoint-every", type=positive_int, default=25,
                   help="optimizer steps between resumable checkpoints (default 25)")
    t.add_argument("--threads", type=positive_int, default=1, help="CPU threads (default 1)")

    e = sub.add_parser("eval", help="accuracy of a solver")
    _scoring_arguments(e)
    e.add_argument("--model", help="solver directory")
    e.add_argument("--beams", type=positive_int, default=1, help="beam width")
    e.add_argument("--constrained", action="store_true",
                   help="decode with the well-formedness constraint")
    e.add_argument("--batch-size", type=positive_int, default=64, help="problems decoded at once")
    e.add_argument("--predictions", help="write one JSON line per problem here")

    b = sub.add_parser("baseline", help="the retrieval baseline")
    _scoring_arguments(b)
    b.add_argument("--data", default="../shared/data",
                   help="folder holding ape210k/ and math23k/ (the training side)")
    return p


def _scoring_arguments(e: argparse.ArgumentParser) -> None:
    e.add_argument("file", help="problems in Ape210K JSON-lines format")
    e.add_argument("--split", choices=["all", "heldout"], default="all",
                   help="all problems, or the last 1,000 retained by id")
    e.add_argument("--limit", type=positive_int, help="score the first N problems only")
    e.add_argument("--record", help="append result records (JSON lines) to this file")
    e.add_argument("--threads", type=positive_int, default=1, help="CPU threads")


def _check_problem(text: str) -> list[str]:
    """Refuse what cannot be a problem; return warnings for what is merely unusual."""
    if not text.strip():
        raise UsageError("the problem is empty")
    if len(text) > MAX_PROBLEM_CHARS:
        raise UsageError(f"the problem is {len(text):,} characters long; at most "
                         f"{MAX_PROBLEM_CHARS:,} (a word problem is a few sentences)")
    warnings = []
    if not _CJK.search(text):
        warnings.append("the problem has no Chinese characters; the solver only knows "
                        "Chinese problems")
    if not _DIGIT.search(text):
        warnings.append("the problem has no numbers written in digits; the solver can only "
                        "use common constants")
    return warnings


#: the shipped solver ``--model`` defaults to
DEFAULT_SOLVER = "kexue-mwp-mini-zh"


def _solver_dir(path: str | None) -> Path:
    if path is None:
        import kexue.assets

        try:
            return kexue.assets.path(DEFAULT_SOLVER)
        except FileNotFoundError:
            raise UsageError("no solver model is shipped in this installation: pass --model "
                             "DIR (a directory written by `kexue mwp train --out RUN`, e.g. "
                             "RUN/best)") from None
    p = Path(path)
    if not p.is_dir():
        raise UsageError(f"solver directory not found: {path}")
    return p


def _solve(args) -> int:
    import torch

    from kexue.recipes.mwp.expression import try_evaluate
    from kexue.recipes.mwp.model import load_solver
    from kexue.recipes.mwp.standardise import standardise

    for w in _check_problem(args.problem):
        print(f"kexue mwp solve: warning: {w}", file=sys.stderr)
    directory = _solver_dir(args.model)
    torch.set_num_threads(1)
    solver = load_solver(directory)
    expression = solver.solve([args.problem], beams=args.beams, constrained=not args.free)[0]
    value = try_evaluate(expression)
    print(f"expression: {expression}")
    if value is None:
        print(f"kexue mwp solve: error: the model's output {expression!r} is not an evaluable "
              "expression", file=sys.stderr)
        return RUNTIME_ERROR
    print(f"value: {float(value):.10g}")
    print(f"answer: {standardise(args.problem, expression, value)}")
    return 0


def _train(args) -> int:
    import torch

    from kexue.recipes.mwp.data import fixed_splits, read_ape210k, read_default
    from kexue.recipes.mwp.model import (
        Solver,
        SolverConfig,
        build_model,
        common_constants,
        simplified_vocab,
        slot_init_ids,
    )
    from kexue.recipes.mwp.slots import slot_tokens
    from kexue.recipes.mwp.train import TrainOptions, train_solver
    from kexue.text import Tokenizer

    root = Path(args.data)
    check_input_file(root / "ape210k" / "valid.ape.json", "Ape210K validation file")
    if not 0 <= args.number_slots <= 64:
        raise UsageError(f"--number-slots must be between 0 and 64, got {args.number_slots}")
    if args.checkpoint is not None and not Path(args.checkpoint).exists():
        raise UsageError(f"checkpoint not found: {args.checkpoint}")
    torch.set_num_threads(args.threads)
    if args.no_math23k:
        ape, math23k = read_ape210k(root / "ape210k" / "valid.ape.json"), []
    else:
        ape, math23k = read_default(root)
    splits = fixed_splits(ape, math23k)
    train = splits.train[: args.limit] if args.limit else splits.train
    print(f"train {len(train)} problems, dev {len(splits.dev)}, held out "
          f"{len(splits.heldout)} (not used); {splits.counts}", file=sys.stderr)
    import kexue.assets

    checkpoint = Path(args.checkpoint) if args.checkpoint else kexue.assets.path(
        "kexue-mini-zh")
    family = args.family or (None if args.checkpoint else kexue.assets.family("kexue-mini-zh"))
    full = Tokenizer(checkpoint / "vocab.txt")
    kept = simplified_vocab(full, [t for p in train for t in (p.question, p.equation)])
    slots = slot_tokens(args.number_slots)
    model = build_model(checkpoint, family=family, random_init=args.random_init,
                        keep_tokens=[full.token_to_id(t) for t in kept]
                        + slot_init_ids(full, len(slots)))
    tokenizer = Tokenizer({t: i for i, t in enumerate(kept + slots)}, extra_specials=slots)
    from kexue.models import family_of

    config = SolverConfig(family=family_of(model).name, constants=common_constants(train),
                          number_slots=len(slots))
    solver = Solver(model, tokenizer, config)
    print(f"vocabulary {len(kept)} of {full.vocab_size} tokens", file=sys.stderr)
    opts = TrainOptions(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                        checkpoint_every=args.checkpoint_every)
    train_solver(solver, train, splits.dev, args.out, opts,
                 log=lambda s: print(s, file=sys.stderr, flush=True))
    print(f"solver written to {Path(args.out) / 'best'} (and last/)", file=sys.stderr)
    return 0


def _load_problems(args):
    from kexue.recipes.mwp.data import HELDOUT_SIZE, read_ape210k

    check_input_file(args.file, "problem file")
    read = read_ape210k(args.file)
    problems = sorted(read.problems, key=lambda p: (int(p.id), p.id) if p.id.isdigit()
                      else (float("inf"), p.id))
    if args.split == "heldout":
        problems = problems[-HELDOUT_SIZE:]
    else:
        problems = read.problems
    if args.limit:
        problems = problems[: args.limit]
    print(f"preprocessing kept {len(read.problems):,} of {read.total:,} problems; scoring "
          f"{len(problems):,}")
    if not problems:
        raise ValueError(f"{args.file}: no problem to score")
    return read, problems


def _report(args, problems, predictions, name: str, extra: dict) -> int:
    import json

    from kexue.recipes.mwp.evaluate import score

    result = score(problems, predictions)
    n = result["n"]
    print(f"{name}: accuracy {100 * result['accuracy']:.2f}% ({result['correct']} of {n})")
    for kind, count in result["errors"].items():
        print(f"  {kind}: {count} ({100 * count / n:.2f}%)")
    if getattr(args, "predictions", None):
        from kexue.io.atomic import atomic_write

        with atomic_write(args.predictions, "w") as f:
            for p, e, ok in zip(problems, predictions, result["per_problem"], strict=True):
                f.write(json.dumps({"id": p.id, "prediction": e, "equation": p.equation,
                                    "answer": p.answer, "result": ok}, ensure_ascii=False)
                        + "\n")
    if args.record:
        from kexue.cli._recipes import command_line
        from kexue.recipes.records import git_commit, write_records

        record = {"claim": f"{name} accuracy on {args.file} ({args.split}, {n} problems)",
                  "value": round(100 * result["accuracy"], 2), "unit": "%",
                  "data": args.file, "split": args.split, **extra,
                  "notes": json.dumps(result["errors"])}
        write_records(args.record, [record], command_line("mwp", args.argv), git_commit())
    return 0


def _eval(args) -> int:
    import torch

    from kexue.recipes.mwp.model import load_solver

    directory = _solver_dir(args.model)
    if args.record:
        from kexue.io.atomic import check_writable

        check_writable(args.record)
    torch.set_num_threads(args.threads)
    _, problems = _load_problems(args)
    solver = load_solver(directory)
    predictions = solver.solve([p.question for p in problems], beams=args.beams,
                               constrained=args.constrained, batch_size=args.batch_size)
    name = f"solver {directory} beam {args.beams}" + (" constrained" if args.constrained else "")
    return _report(args, problems, predictions, name,
                   {"beams": args.beams, "constrained": args.constrained})


def _baseline(args) -> int:
    from kexue.recipes.mwp.baseline import RetrievalBaseline
    from kexue.recipes.mwp.data import fixed_splits, read_default

    _, problems = _load_problems(args)
    check_input_file(Path(args.data) / "ape210k" / "valid.ape.json", "Ape210K validation file")
    ape, math23k = read_default(args.data)
    splits = fixed_splits(ape, math23k)
    baseline = RetrievalBaseline(splits.train)
    predictions = baseline.predict([p.question for p in problems])
    return _report(args, problems, predictions, "retrieval baseline (char 1-3-gram TF-IDF)",
                   {"train_problems": len(splits.train)})


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.command is None:
        parser.print_help()
        return USAGE_ERROR
    run = {"solve": _solve, "train": _train, "eval": _eval, "baseline": _baseline}
    try:
        return run[args.command](args)
    except UsageError as err:
        print(f"kexue mwp {args.command}: error: {err}", file=sys.stderr)
        return USAGE_ERROR
    except (FileNotFoundError, IsADirectoryError) as err:
        print(f"kexue mwp {args.command}: error: {err}", file=sys.stderr)
        return USAGE_ERROR
    except (ValueError, OSError, RuntimeError) as err:
        print(f"kexue mwp {args.command}: error: {err}", file=sys.stderr)
        return RUNTIME_ERROR
