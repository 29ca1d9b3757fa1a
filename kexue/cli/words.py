"""Discover new words in raw Chinese text, segment with a lexicon, score against gold.

Usage:

    kexue words CORPUS... -o LEXICON [--min-count N] [--thresholds 2,4,6] [--top K]
    kexue words segment -l LEXICON [INPUT ...] [-o OUTPUT]
    kexue words evaluate --gold GOLD (--pred PRED | -l LEXICON) [--json]

``kexue words discover CORPUS...`` is the explicit form of the first line (use it when a corpus
file is literally named ``segment`` or ``evaluate``). The lexicon has one ``word count`` pair a
line, most frequent first, so it loads directly as a jieba dictionary. Segmentation output and
gold files have one sentence a line with words separated by spaces.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

_SUBCOMMANDS = ("discover", "segment", "evaluate")


def _thresholds(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"thresholds must be comma-separated numbers: {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("thresholds must not be empty")
    return values


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _discover(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="kexue words", description="Discover words (archives/4256, 6920) in raw text."
    )
    p.add_argument("corpus", nargs="+", help="UTF-8 text files (read twice, streaming)")
    p.add_argument("-o", "--output", required=True, help="lexicon file to write")
    p.add_argument("--order", type=int, default=4, choices=[2, 3, 4])
    p.add_argument("--min-count", type=_positive_int, default=None,
                   help="minimum count (default: scales with corpus size)")
    p.add_argument("--thresholds", type=_thresholds, default=None,
                   help="cohesion thresholds in nats for orders 2..ORDER (default 2,4,6)")
    p.add_argument("--max-ngrams", type=_positive_int, default=50_000_000,
                   help="distinct n-grams kept before pruning (memory ~16 bytes each)")
    p.add_argument("--top", type=_positive_int, default=None, help="keep the K most frequent")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    args = p.parse_args(argv)
    from kexue.text.discovery import discover_words, save_lexicon

    progress = not args.quiet and sys.stderr.isatty()
    res = discover_words(
        args.corpus,
        order=args.order,
        min_count=args.min_count,
        thresholds=args.thresholds,
        max_ngrams=args.max_ngrams,
        progress=progress,
    )
    lexicon = res.lexicon
    if args.top is not None:
        lexicon = dict(list(lexicon.items())[: args.top])
    if not lexicon:
        raise ValueError("no word reached the minimum count; nothing to write (lower --min-count)")
    save_lexicon(args.output, lexicon)
    if not args.quiet:
        print(
            f"{len(lexicon)} words written to {args.output} (characters {res.total_chars}, "
            f"min_count {res.min_count}, cohesive n-grams {res.cohesive}, "
            f"removed by back-tracking {res.removed_by_backtrack})",
            file=sys.stderr,
        )
    return 0


def _read_lines(paths: list[str]):
    from kexue.text.ngrams import iter_lines

    if not paths or paths == ["-"]:
        yield from sys.stdin
        return
    yield from iter_lines(paths)


def _segment(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kexue words segment",
                                description="Segment text with a lexicon (unigram max path).")
    p.add_argument("-l", "--lexicon", required=True, help="'word count' lines (jieba format)")
    p.add_argument("input", nargs="*", help="UTF-8 text files (default: stdin)")
    p.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    args = p.parse_args(argv)
    from kexue.text.discovery import load_lexicon
    from kexue.text.segment import Segmenter

    seg = Segmenter(load_lexicon(args.lexicon))
    lines = _read_lines(args.input)
    if args.output == "-":
        for line in lines:
            sys.stdout.write(" ".join(seg.cut(line)) + "\n")
        return 0
    tmp = args.output + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            for line in lines:
                f.write(" ".join(seg.cut(line)) + "\n")
        os.replace(tmp, args.output)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return 0


def _evaluate(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="kexue words evaluate",
        description="Word P/R/F1 against gold and bits per character (archives/5476).",
    )
    p.add_argument("--gold", required=True, help="gold segmentation: words separated by spaces")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--pred", help="predicted segmentation, same format and lines as gold")
    src.add_argument("-l", "--lexicon", help="segment the gold's raw text with this lexicon")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    from kexue.text.discovery import load_lexicon
    from kexue.text.evaluate import bits_per_char, score_segmentation
    from kexue.text.ngrams import iter_lines
    from kexue.text.segment import Segmenter

    gold = [line.split() for line in iter_lines([args.gold])]
    if args.pred is not None:
        pred = [line.split() for line in iter_lines([args.pred])]
    else:
        seg = Segmenter(load_lexicon(args.lexicon))
        pred = [seg.cut("".join(g)) for g in gold]
    with_p = score_segmentation(gold, pred, punctuation=True)
    without_p = score_segmentation(gold, pred, punctuation=False)
    bpc_pred = bits_per_char(t for line in pred for t in line)
    bpc_gold = bits_per_char(t for line in gold for t in line)
    bpc_char = bits_per_char(c for line in gold for t in line for c in t if c.isalnum())
    report = {
        "with_punctuation": with_p.as_dict(),
        "without_punctuation": without_p.as_dict(),
        "bits_per_char": {"predicted": bpc_pred, "gold": bpc_gold, "characters": bpc_char},
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print("| tokens | precision | recall | F1 | predicted | gold |")
    print("|---|---|---|---|---|---|")
    for name, s in (("with punctuation", with_p), ("without punctuation", without_p)):
        print(f"| {name} | {s.precision:.4f} | {s.recall:.4f} | {s.f1:.4f} | "
              f"{s.predicted} | {s.gold} |")
    print()
    print("| segmentation | H (bits/word) | l (chars/word) | L (bits/char) |")
    print("|---|---|---|---|")
    for name, b in (("predicted", bpc_pred), ("gold", bpc_gold), ("characters", bpc_char)):
        print(f"| {name} | {b['H']:.3f} | {b['l']:.3f} | {b['L']:.3f} |")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _SUBCOMMANDS:
        name, rest = argv[0], argv[1:]
    elif argv and argv[0] in {"-h", "--help"}:
        print(__doc__.strip())
        return 0
    else:
        name, rest = "discover", argv
    handler = {"discover": _discover, "segment": _segment, "evaluate": _evaluate}[name]
    try:
        return handler(rest)
    except (ValueError, FileNotFoundError) as err:
        print(f"kexue words {name}: error: {err}", file=sys.stderr)
        return 2
