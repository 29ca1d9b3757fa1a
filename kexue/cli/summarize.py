"""Summarise a document with a trained SPACES generator directory (kexue.fm/archives/8046)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kexue.cli._exitcodes import OK, RUNTIME_ERROR, USAGE_ERROR, UsageError, check_input_file

_EPILOG = """\
MODEL is a directory written by experiments/spaces_generator.py: an HF-format UniLM model
(config.json, model.safetensors, vocab.txt) plus summarizer.json (family, source length,
sparse-softmax k, copy mechanism) and, for a copy model, copy_head.safetensors. The document is
FILE, or standard input when FILE is omitted or '-'. A document longer than the model's source
length is cut at the end (the generator keeps its first tokens) and a note says so on stderr;
an empty document is an error. Beam search (default 3 beams, as SPACES' topk=3); a copy model
decodes under the BIO copy constraint (copied runs are verbatim source n-grams).

examples:
  kexue summarize --model /work/runs/issue19-spaces/generator/baseline/model abstract.txt
  echo "本文研究了..." | kexue summarize --model DIR --json
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kexue summarize", description=__doc__, epilog=_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", nargs="?", default="-", metavar="FILE",
                   help="the document (default '-': standard input)")
    p.add_argument("--model", required=True, metavar="DIR",
                   help="a summarizer directory (experiments/spaces_generator.py)")
    p.add_argument("--beams", type=int, default=3, metavar="N", help="beam width (default 3)")
    p.add_argument("--max-new-tokens", type=int, default=64, metavar="N",
                   help="longest summary in tokens (default 64)")
    p.add_argument("--json", action="store_true",
                   help='print {"summary", "source_tokens", "truncated"} as JSON')
    return p


def _model_dir(arg: str) -> Path:
    from kexue.recipes.spaces.generator import SETTINGS_FILE

    d = Path(arg)
    if not d.is_dir():
        raise UsageError(f"model directory not found: {arg}" if not d.exists() else
                         f"--model takes a directory, got the file {arg}")
    if not (d / SETTINGS_FILE).is_file():
        raise UsageError(f"{arg} is not a summarizer directory (no {SETTINGS_FILE}); train one "
                         "with experiments/spaces_generator.py")
    return d


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.beams < 1:
            raise UsageError(f"--beams must be >= 1, got {args.beams}")
        if args.max_new_tokens < 1:
            raise UsageError(f"--max-new-tokens must be >= 1, got {args.max_new_tokens}")
        model_dir = _model_dir(args.model)
        if args.file != "-":
            check_input_file(args.file, "document")
    except UsageError as e:
        print(f"kexue summarize: error: {e}", file=sys.stderr)
        return USAGE_ERROR
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        print(f"kexue summarize: error: cannot read the document: {e}", file=sys.stderr)
        return RUNTIME_ERROR
    text = text.strip()
    if not text:
        print("kexue summarize: error: the document is empty (nothing to summarise)",
              file=sys.stderr)
        return RUNTIME_ERROR
    from kexue.recipes.spaces.generator import Summarizer

    try:
        summarizer = Summarizer.load(model_dir)
        keep = int(summarizer.settings["maxlen"])
        total = len(summarizer.tokenizer.encode(text)[0])
        if total > keep:
            print(f"kexue summarize: note: the document has {total} tokens; the generator "
                  f"reads only the first {keep - 2} (its source length {keep})", file=sys.stderr)
        summary = summarizer.summarize([text], num_beams=args.beams,
                                       max_new_tokens=args.max_new_tokens)[0]
    except (OSError, ValueError, KeyError) as e:
        print(f"kexue summarize: error: {e}", file=sys.stderr)
        return RUNTIME_ERROR
    if args.json:
        sys.stdout.write(json.dumps({"summary": summary, "source_tokens": total,
                                     "truncated": total > keep}, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(summary + "\n")
    return OK
