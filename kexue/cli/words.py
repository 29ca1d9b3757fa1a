"""Discover new words in raw Chinese text, segment with a lexicon, score against gold.

Usage:

    kexue words CORPUS... -o LEXICON [--min-count N] [--thresholds 2,4,6] [--top K]
    kexue words segment -l LEXICON [INPUT ...] [-o OUTPUT]
    kexue words evaluate --gold GOLD (--pred PRED | -l LEXICON) [--json]
    kexue words unsupervised-bert --model DIR [--threshold auto|X] [INPUT ...] [-o OUTPUT]

``kexue words discover CORPUS...`` is the explicit form of the first line (use it when a corpus
file is literally named ``segment`` or ``evaluate``). The lexicon has one ``word count`` pair a
line, most frequent first, so it loads directly as a jieba dictionary. Segmentation output and
gold files have one sentence a line with words separated by spaces.
``unsupervised-bert`` segments with a pretrained BERT-family model and no lexicon (Perturbed
Masking, archives/7476: adjacent characters whose masked representations depend on each other
more than the threshold stay together; ``auto`` picks the threshold from the input itself).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys

from kexue.cli._exitcodes import (
    RUNTIME_ERROR,
    USAGE_ERROR,
    UsageError,
    check_input_file,
    check_output_file,
    did_you_mean,
    misspelt,
    positive_int,
)

_SUBCOMMANDS = ("discover", "segment", "evaluate", "unsupervised-bert")


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


def _discover(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="kexue words", description="Discover words (archives/4256, 6920) in raw text."
    )
    p.add_argument("corpus", nargs="+", help="UTF-8 text files (read twice, streaming)")
    p.add_argument("-o", "--output", required=True, help="lexicon file to write")
    p.add_argument("--order", type=int, default=4, choices=[2, 3, 4])
    p.add_argument("--min-count", type=positive_int, default=None,
                   help="minimum count (default: scales with corpus size)")
    p.add_argument("--thresholds", type=_thresholds, default=None,
                   help="cohesion thresholds in nats for orders 2..ORDER (default 2,4,6)")
    p.add_argument("--max-ngrams", type=positive_int, default=50_000_000,
                   help="distinct n-grams kept before pruning (memory ~16 bytes each)")
    p.add_argument("--top", type=positive_int, default=None, help="keep the K most frequent")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    args = p.parse_args(argv)
    from kexue.io.atomic import check_writable, remove_stale_temps
    from kexue.text.discovery import discover_words, save_lexicon

    for path in args.corpus:
        check_input_file(path)
    check_output_file(args.output)
    check_writable(args.output)  # a bad output is reported now, not after the whole run
    remove_stale_temps(args.output)  # left by a run that was killed (kill -9)

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
    save_lexicon(args.output, lexicon, like=args.corpus)
    if not args.quiet:
        print(
            f"{len(lexicon)} words written to {args.output} (characters {res.total_chars}, "
            f"min_count {res.min_count}, cohesive n-grams {res.cohesive}, "
            f"removed by back-tracking {res.removed_by_backtrack})",
            file=sys.stderr,
        )
    return 0


def _read_lines(paths: list[str]):
    """Lines of the inputs (``-`` or none: standard input), all decoded as strict UTF-8."""
    from kexue.io.lines import read_lines
    from kexue.text.ngrams import decode_lines, iter_lines

    paths = paths or ["-"]
    for path in paths:  # every named file is checked before anything is read
        if path != "-":
            check_input_file(path)
    for path in paths:
        if path == "-":
            raw = getattr(sys.stdin, "buffer", None)  # None: a text stream given by a caller
            if raw is None:
                yield from sys.stdin
            else:  # compressed standard input is recognised by content too
                yield from decode_lines(read_lines(raw, "<stdin>"), "<stdin>")
        else:
            yield from iter_lines([path])


def _segment(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kexue words segment",
                                description="Segment text with a lexicon (unigram max path).")
    p.add_argument("-l", "--lexicon", required=True, help="'word count' lines (jieba format)")
    p.add_argument("input", nargs="*", help="UTF-8 text files ('-' or none: stdin)")
    p.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    args = p.parse_args(argv)
    from kexue.io.atomic import atomic_write, check_writable, remove_stale_temps
    from kexue.text.discovery import load_lexicon
    from kexue.text.segment import Segmenter

    check_input_file(args.lexicon, "lexicon")
    for path in args.input:
        check_input_file(path)
    if args.output != "-":
        check_output_file(args.output)
        check_writable(args.output)
        remove_stale_temps(args.output)  # left by a run that was killed (kill -9)
    seg = Segmenter(load_lexicon(args.lexicon))
    lines = _read_lines(args.input)
    if args.output == "-":
        out = getattr(sys.stdout, "buffer", None)
        for line in lines:
            text = " ".join(seg.cut(line)) + "\n"
            if out is None:  # a text stream given by a caller
                _stdout_write(sys.stdout, text)
            else:
                _stdout_write(out, text.encode("utf-8"))
        _stdout_write(out or sys.stdout, None)
        return 0
    like = [p for p in args.input if p != "-"]  # never more readable than the input files
    with atomic_write(args.output, "wb", like=like) as f:  # replaced once every line is written
        for line in lines:
            f.write((" ".join(seg.cut(line)) + "\n").encode("utf-8"))
    return 0


def _threshold(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"threshold must be a number or 'auto': {text!r}") \
            from None


def _model_dir(text: str):
    """A model directory, or the name of a model kexue ships (``kexue-mini-zh``)."""
    from pathlib import Path

    import kexue.assets

    if Path(text).is_dir():
        return Path(text)
    if text in kexue.assets.MODELS:
        try:
            return kexue.assets.path(text)
        except FileNotFoundError as e:
            raise UsageError(str(e)) from None
    raise UsageError(f"--model {text!r} is neither a model directory nor a shipped model "
                     f"({', '.join(kexue.assets.available())})")


def _unsupervised_bert(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="kexue words unsupervised-bert",
        description="Segment text with a pretrained BERT and no lexicon (Perturbed Masking, "
                    "archives/7476).")
    p.add_argument("--model", required=True,
                   help="model directory (config.json, weights, vocab.txt) or shipped name")
    p.add_argument("--threshold", type=_threshold, default="auto",
                   help="keep neighbours together when their relatedness >= this; 'auto' "
                        "(default): Otsu's cut of all the input's relatedness values")
    p.add_argument("--maxlen", type=positive_int, default=128,
                   help="tokens per window; longer lines are cut into windows (a word "
                        "boundary between windows)")
    p.add_argument("input", nargs="*", help="UTF-8 text files ('-' or none: stdin)")
    p.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    p.add_argument("--quiet", action="store_true", help="do not print the threshold used")
    args = p.parse_args(argv)
    from kexue.io.atomic import atomic_write, check_writable, remove_stale_temps

    model_dir = _model_dir(args.model)
    for path in args.input:
        if path != "-":
            check_input_file(path)
    if args.output != "-":
        check_output_file(args.output)
        check_writable(args.output)
        remove_stale_temps(args.output)
    import torch

    from kexue.prompting import load_model
    from kexue.prompting.perturbed import BertSegmenter, otsu_threshold, segment

    model, tokenizer = load_model(model_dir)
    seg = BertSegmenter(model, tokenizer, maxlen=min(args.maxlen, seg_limit(model)))
    rows = [seg.relatedness(line.rstrip("\n")) for line in _read_lines(args.input)]
    threshold = args.threshold
    if threshold == "auto":
        values = torch.cat([r for _, r in rows]) if rows else torch.zeros(0)
        values = values[~values.isnan()]
        if len(values) < 2:
            raise ValueError("too little text to choose a threshold: give --threshold")
        threshold = otsu_threshold(values)
    if not args.quiet:
        print(f"kexue words unsupervised-bert: threshold {threshold:.4f}", file=sys.stderr)
    lines = (" ".join(w for w in segment(pieces, r, threshold) if w) + "\n"
             for pieces, r in rows)
    if args.output == "-":
        out = getattr(sys.stdout, "buffer", None)
        for text in lines:
            _stdout_write(out or sys.stdout, text if out is None else text.encode("utf-8"))
        return 0
    like = [p for p in args.input if p != "-"]
    with atomic_write(args.output, "wb", like=like) as f:
        for text in lines:
            f.write(text.encode("utf-8"))
    return 0


def seg_limit(model) -> int:
    from kexue.prompting._model import max_positions

    return max_positions(model) or 512


class _StdoutError(OSError):
    """Writing standard output failed (full disk, closed pipe...)."""


def _stdout_write(out, data: bytes | str | None) -> None:
    """Write ``data`` to standard output (``None``: flush), naming stdout in any error."""
    try:
        if data is None:
            out.flush()
        else:
            out.write(data)
    except BrokenPipeError:
        raise
    except OSError as e:
        reason = "no space left on device" if e.errno == errno.ENOSPC else (e.strerror or str(e))
        raise _StdoutError(e.errno, f"cannot write standard output: {reason}") from e


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

    for path, what in ((args.gold, "gold file"), (args.pred, "prediction file"),
                       (args.lexicon, "lexicon")):
        if path is not None:
            check_input_file(path, what)
    gold = [line.split() for line in iter_lines([args.gold])]
    if not any(len(g) > 1 for g in gold) and any(len(w) > 1 for g in gold for w in g):
        # every line one "word": raw text, not a segmentation; the scores would look plausible
        print(f"kexue words evaluate: error: the gold file {args.gold} has no word separators "
              "(spaces); give a segmented file, one sentence a line, words separated by spaces",
              file=sys.stderr)
        return RUNTIME_ERROR
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
        _stdout_write(sys.stdout, json.dumps(report, indent=1) + "\n")
        return 0
    rows = ["| tokens | precision | recall | F1 | predicted | gold |", "|---|---|---|---|---|---|"]
    for name, s in (("with punctuation", with_p), ("without punctuation", without_p)):
        rows.append(f"| {name} | {s.precision:.4f} | {s.recall:.4f} | {s.f1:.4f} | "
                    f"{s.predicted} | {s.gold} |")
    rows += ["", "| segmentation | H (bits/word) | l (chars/word) | L (bits/char) |",
             "|---|---|---|---|"]
    for name, b in (("predicted", bpc_pred), ("gold", bpc_gold), ("characters", bpc_char)):
        rows.append(f"| {name} | {b['H']:.3f} | {b['l']:.3f} | {b['L']:.3f} |")
    _stdout_write(sys.stdout, "\n".join(rows) + "\n")
    return 0


def _quiet_stdout() -> None:
    """Point standard output at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError:
        pass


def _message(e: BaseException) -> str:
    """The error without Python's ``[Errno N]`` prefix."""
    if isinstance(e, OSError) and e.strerror:
        return e.strerror + (f": {e.filename!r}" if e.filename else "")
    return str(e)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _SUBCOMMANDS:
        name, rest = argv[0], argv[1:]
    elif argv and argv[0] in {"-h", "--help"}:
        print(__doc__.strip())
        return 0
    elif argv and misspelt(argv[0], _SUBCOMMANDS):  # `kexue words evalute`: not a corpus file
        hint = did_you_mean(argv[0], _SUBCOMMANDS)
        print(f"kexue words: unknown command {argv[0]!r}{hint}; commands: "
              f"{', '.join(_SUBCOMMANDS)}", file=sys.stderr)
        return USAGE_ERROR
    else:
        name, rest = "discover", argv
    handler = {"discover": _discover, "segment": _segment, "evaluate": _evaluate,
               "unsupervised-bert": _unsupervised_bert}[name]
    try:
        rc = handler(rest)
        _stdout_write(sys.stdout, None)
        return rc
    except BrokenPipeError:  # `kexue words segment ... | head`: stop quietly, like coreutils
        _quiet_stdout()
        return 141
    except UsageError as err:  # the arguments name something unusable (before any work)
        print(f"kexue words {name}: error: {_message(err)}", file=sys.stderr)
        return USAGE_ERROR
    except ValueError as err:  # bad data found while working (bad UTF-8, empty corpus)
        print(f"kexue words {name}: error: {_message(err)}", file=sys.stderr)
        return RUNTIME_ERROR
    except OSError as err:  # writing failed: read-only, full disk, no permission
        if isinstance(err, _StdoutError):
            _quiet_stdout()
        print(f"kexue words {name}: error: {_message(err)}", file=sys.stderr)
        return 1
