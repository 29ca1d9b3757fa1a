"""Build a vocabulary (vocab.txt) for a corpus: characters by frequency, or WordPiece.

Usage:

    kexue vocab build CORPUS... -o/--output vocab.txt [--kind char|wordpiece] [--size N]
                      [--min-count K] [-q/--quiet]

The corpora are line files, plain or compressed (gzip, bzip2, xz, zstd: recognised by
content), strict UTF-8. ``--kind char`` (the default) keeps every character (and ``##``
continuation of letters and digits) seen at least K times, most frequent first, up to N tokens;
``--kind wordpiece`` trains HF tokenizers' WordPiece (``pip install 'kexue[text]'``): every
character of the corpus plus merges of at least K occurrences, up to N tokens. The special
tokens ``[PAD] [UNK] [CLS] [SEP] [MASK]`` come first. Rules in kexue/text/vocab_build.py.

A domain continuation then names the new vocabulary in the pretraining config (``[vocab] path``)
beside ``[model] checkpoint``; ``kexue pretrain`` carries the checkpoint's embedding rows over
(see docs/pretraining.md, "Domain pretraining").

examples:
  kexue vocab build corpus-*.txt.gz -o vocab.txt --size 8000 --min-count 5
  kexue vocab build notes.txt -o vocab.txt --kind wordpiece --size 30000
"""

from __future__ import annotations

import argparse
import sys

from kexue.cli._exitcodes import (
    RUNTIME_ERROR,
    USAGE_ERROR,
    did_you_mean,
    misspelt,
    positive_int,
)

_SUBCOMMANDS = ("build",)


def _build(argv: list[str]) -> int:
    from kexue.text.vocab_build import KINDS, SPECIALS

    p = argparse.ArgumentParser(prog="kexue vocab build",
                                description="Build a vocab.txt from line files.")
    p.add_argument("corpus", nargs="+", help="line files (plain or compressed)")
    p.add_argument("-o", "--output", required=True, help="the vocab.txt to write")
    p.add_argument("--kind", choices=KINDS, default="char",
                   help="char: characters by frequency; wordpiece: HF WordPiece trainer")
    p.add_argument("--size", type=positive_int, default=None, metavar="N",
                   help=f"at most N tokens, the {len(SPECIALS)} specials included (char: "
                        "default no limit; wordpiece: default 21128)")
    p.add_argument("--min-count", type=positive_int, default=2, metavar="K",
                   help="char: keep units seen at least K times; wordpiece: merge pairs seen "
                        "at least K times (default 2)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    args = p.parse_args(argv)
    from kexue.io.atomic import check_writable, remove_stale_temps
    from kexue.text.ngrams import check_input_file
    from kexue.text.vocab_build import build_vocab

    size = args.size
    if size is not None and size <= len(SPECIALS):
        print(f"kexue vocab build: --size must exceed the {len(SPECIALS)} special tokens",
              file=sys.stderr)
        return USAGE_ERROR
    if size is None and args.kind == "wordpiece":
        size = 21128
    try:  # a missing input or output directory is reported now, not after the counting
        for path in args.corpus:
            check_input_file(path)
        check_writable(args.output)
    except (OSError, ValueError) as e:
        print(f"kexue vocab build: {_message(e)}", file=sys.stderr)
        usage = (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError)
        return USAGE_ERROR if isinstance(e, usage) else RUNTIME_ERROR  # else: read-only, ...
    try:
        remove_stale_temps(args.output)  # left by a run that was killed (kill -9)
        vocab = build_vocab(args.corpus, args.kind, size=size, min_count=args.min_count,
                            progress=not args.quiet and sys.stderr.isatty())
        vocab.save(args.output)
    except (OSError, ValueError, ImportError) as e:  # bad data, a failed write
        print(f"kexue vocab build: {_message(e)}", file=sys.stderr)
        return RUNTIME_ERROR
    if not args.quiet:
        if args.kind == "char":
            detail = (f"{vocab.units} distinct units in {vocab.words} words, "
                      f"{100 * vocab.coverage:.2f} % of unit occurrences covered")
        else:
            detail = f"alphabet {vocab.units} units, {vocab.words} words"
        print(f"{len(vocab)} tokens ({args.kind}) written to {args.output}: {detail}",
              file=sys.stderr)
    return 0


def _message(e: BaseException) -> str:
    """The error without Python's ``[Errno N]`` prefix."""
    if isinstance(e, OSError) and e.strerror:
        return e.strerror + (f": {e.filename!r}" if e.filename else "")
    return str(e)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in {"-h", "--help"}:
        print(__doc__.strip())
        return 0
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return USAGE_ERROR
    if argv[0] not in _SUBCOMMANDS:
        hint = did_you_mean(argv[0], _SUBCOMMANDS) if misspelt(argv[0], _SUBCOMMANDS) else ""
        print(f"kexue vocab: unknown command {argv[0]!r}{hint}; commands: "
              f"{', '.join(_SUBCOMMANDS)}", file=sys.stderr)
        return USAGE_ERROR
    return _build(argv[1:])
