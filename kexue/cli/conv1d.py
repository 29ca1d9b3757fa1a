"""Conv1D sequence classification (5505): train, evaluate, baselines on UCR .ts files.

Usage:

    kexue conv1d train DATA.ts -o MODEL_DIR [--epochs 40] [--epochs-f1 10] [--filters 16,16,...]
    kexue conv1d evaluate DATA.ts -m MODEL_DIR [--split select|all] [--json]
    kexue conv1d baseline DATA.ts [--json]

DATA.ts is a univariate UCR/UEA ``.ts`` file with class labels (macro-F1, accuracy) or real
targets (regression: RMSE, R²). ``train`` fits on 80 % of it and selects on a fixed 20 %
(stratified, seed 0: ``kexue.recipes.conv1d.data.select_split``); ``baseline`` scores
logistic regression (ridge for regression) and 1-NN on the same split; ``evaluate --split
select`` scores that 20 %, ``--split all`` every series (a held-out file in the same format).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from kexue.cli._exitcodes import RUNTIME_ERROR, USAGE_ERROR, check_input_file, did_you_mean

_SUBCOMMANDS = ("train", "evaluate", "baseline")


class _UsageError(Exception):
    """The command line names something unusable (a missing file, an existing output)."""


def _read(path: str):
    from kexue.recipes.conv1d.data import read_ts

    try:
        check_input_file(path, "data file")
    except ValueError as e:
        raise _UsageError(str(e)) from None
    return read_ts(path)


def _filters(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"filters must be comma-separated ints: {text!r}") \
            from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"filters must be ints >= 1: {text!r}")
    return values


def _nonneg(kind):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if v < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return v
    return parse


def _show(name: str, r: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"model": name, **r}))
        return
    parts = [f"{k} {v:.4f}" for k, v in r.items() if k != "n"]
    print(f"{name}: " + "  ".join(parts) + (f"  on {r['n']} series" if "n" in r else ""))


def _train(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kexue conv1d train",
                                description="Train the residual Conv1D model (CPU minutes).")
    p.add_argument("data", help="UCR/UEA .ts file")
    p.add_argument("-o", "--output", required=True, help="model directory to create")
    p.add_argument("--epochs", type=_nonneg(int), default=40, help="cross-entropy epochs")
    p.add_argument("--epochs-f1", type=_nonneg(int), default=10,
                   help="epochs on -log(soft macro-F1) at LR/10 (regression: MSE)")
    p.add_argument("--lr", type=_nonneg(float), default=1e-3)
    p.add_argument("--batch-size", type=_nonneg(int), default=32)
    p.add_argument("--filters", type=_filters, default=None,
                   help="block widths (default 16,16,32,32,64,64,128,128)")
    p.add_argument("--scale", choices=["global", "series", "none"], default="global")
    p.add_argument("--no-balance", action="store_true", help="no class-balanced epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=_nonneg(int), default=1)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    import torch

    from kexue.recipes.conv1d.data import select_split
    from kexue.recipes.conv1d.train import Conv1DOptions, save_conv1d, train_conv1d

    if os.path.exists(args.output) and not args.overwrite:
        raise _UsageError(f"output {args.output} exists (pass --overwrite to replace it)")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.output))):
        raise _UsageError(f"the directory of {args.output} does not exist")
    if args.epochs < 1 or args.batch_size < 1:
        raise _UsageError("--epochs and --batch-size must be >= 1")
    data = _read(args.data)
    torch.set_num_threads(max(1, args.threads))
    fit_i, sel_i = select_split(data)
    opts = Conv1DOptions(epochs=args.epochs, epochs_f1=args.epochs_f1, lr=args.lr,
                         batch_size=args.batch_size, scale=args.scale,
                         balance=not args.no_balance, seed=args.seed,
                         **({"filters": args.filters} if args.filters else {}))
    log = None if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    model, scaler, summary = train_conv1d(data.subset(fit_i), data.subset(sel_i), opts, log=log)
    save_conv1d(args.output, model, scaler, data, summary, overwrite=args.overwrite)
    if not args.quiet:
        _show("select", summary["select"], False)
        print(f"model written to {args.output}", file=sys.stderr)
    return 0


def _evaluate(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kexue conv1d evaluate",
                                description="Score a Conv1D model on a .ts file.")
    p.add_argument("data", help="UCR/UEA .ts file")
    p.add_argument("-m", "--model", required=True, help="model directory (kexue conv1d train)")
    p.add_argument("--split", choices=["select", "all"], default="all")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import torch

    from kexue.recipes.conv1d.data import select_split
    from kexue.recipes.conv1d.train import load_conv1d, score_conv1d

    torch.set_num_threads(1)
    if not os.path.isdir(args.model):
        raise _UsageError(f"model directory not found: {args.model}")
    model, scaler, config = load_conv1d(args.model)
    data = _read(args.data)
    if args.split == "select":
        data = data.subset(select_split(data)[1])
    _show("conv1d", score_conv1d(model, scaler, config, data), args.json)
    return 0


def _baseline(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kexue conv1d baseline",
                                description="Logistic/ridge regression and 1-NN on the split.")
    p.add_argument("data", help="UCR/UEA .ts file")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from kexue.recipes.conv1d.baselines import run_baselines
    from kexue.recipes.conv1d.data import select_split

    data = _read(args.data)
    fit_i, sel_i = select_split(data)
    for name, r in run_baselines(data.subset(fit_i), data.subset(sel_i)).items():
        _show(name, {**r, "n": len(sel_i)}, args.json)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else USAGE_ERROR
    cmd, rest = argv[0], argv[1:]
    if cmd not in _SUBCOMMANDS:
        print(f"kexue conv1d: unknown subcommand {cmd!r}{did_you_mean(cmd, _SUBCOMMANDS)} "
              f"(one of {', '.join(_SUBCOMMANDS)})", file=sys.stderr)
        return USAGE_ERROR
    run = {"train": _train, "evaluate": _evaluate, "baseline": _baseline}[cmd]
    try:
        return run(rest)
    except _UsageError as e:
        print(f"kexue conv1d {cmd}: error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except (ValueError, OSError, RuntimeError) as e:  # bad data, a failed write
        print(f"kexue conv1d {cmd}: error: {e}", file=sys.stderr)
        return RUNTIME_ERROR
