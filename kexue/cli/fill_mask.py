"""Fill in the [MASK] tokens of texts with a masked language model (top-k candidates)."""

from __future__ import annotations

import argparse
import json
import sys

from kexue.cli._exitcodes import OK, RUNTIME_ERROR, USAGE_ERROR, UsageError

DEFAULT_MODEL = "kexue-mini-zh"

_EPILOG = """\
TEXT is any text with one or more [MASK] tokens (each [MASK] is one token: one Chinese
character, or one word piece). Without TEXT arguments, every non-empty line of standard input
is one text. --model is any HF-format directory kexue loads (config.json, model.safetensors or
pytorch_model.bin, vocab.txt) whose checkpoint holds an MLM head; the default is kexue's
shipped model kexue-mini-zh. The output is a table (one row per candidate) or, with --json,
one JSON object per text: {"text": ..., "masks": [[{"token", "id", "probability"}, ...], ...]}.
Threads: see kexue/threads.py (default min(4, CPUs)).

examples:
  kexue fill-mask "今天天[MASK]很好"
  kexue fill-mask --model my_bert_dir --top-k 3 "北京是中国的首[MASK]。"
  printf '科学[MASK]间\\n[MASK]天天气不错\\n' | kexue fill-mask --json
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kexue fill-mask", description=__doc__, epilog=_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("texts", nargs="*", metavar="TEXT",
                   help="texts with [MASK] tokens (none: one text per line of stdin)")
    p.add_argument("--model", default=None, metavar="DIR",
                   help=f"HF-format model directory with an MLM head (default: the shipped "
                        f"{DEFAULT_MODEL})")
    p.add_argument("-k", "--top-k", type=int, default=5, metavar="K",
                   help="candidates per [MASK] (default 5)")
    p.add_argument("--maxlen", type=int, default=512, metavar="N",
                   help="truncate texts to N tokens (default 512)")
    p.add_argument("--threads", type=int, default=0, metavar="N",
                   help="CPU threads (default 0: min(4, usable CPUs), see kexue/threads.py)")
    p.add_argument("--json", action="store_true", help="one JSON object per text")
    return p


def _model_dir(arg: str | None):
    from pathlib import Path

    if arg is None:
        import kexue.assets

        try:
            return kexue.assets.path(DEFAULT_MODEL)
        except FileNotFoundError:
            raise UsageError(
                f"the default model {DEFAULT_MODEL} is not shipped in this installation: pass "
                "--model DIR (an HF-format directory with config.json, model.safetensors and "
                "vocab.txt, built with an MLM head)"
            ) from None
    d = Path(arg)
    if not d.exists():
        raise UsageError(f"model directory not found: {arg}")
    if not d.is_dir():
        raise UsageError(f"--model takes a directory (config.json, weights, vocab.txt): {arg}")
    if not (d / "vocab.txt").is_file():
        raise UsageError(f"{arg} has no vocab.txt: the tokenizer's vocabulary must be beside "
                         "the weights")
    return d


def _load(model_dir):
    import warnings

    from kexue.models import build_transformer_model
    from kexue.text import Tokenizer

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build_transformer_model(checkpoint_path=model_dir, with_mlm=True)
    if "mlm" in getattr(model, "load_report", None).new_heads:
        raise ValueError(f"{model_dir} holds no MLM head (cls.predictions.*): its fill-mask "
                         "guesses would be random; use a masked-LM checkpoint")
    for w in caught:  # other warnings pass through
        print(f"kexue fill-mask: warning: {w.message}", file=sys.stderr)
    return model, Tokenizer(model_dir / "vocab.txt")


def _table(text: str, masks) -> str:
    lines = [text]
    for m, candidates in enumerate(masks, 1):
        for rank, c in enumerate(candidates, 1):
            label = f"[MASK] {m}" if rank == 1 else ""
            lines.append(f"  {label:<9} {rank:>2}. {c.token:<8} {c.probability:8.4f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.top_k < 1:
            raise UsageError(f"--top-k must be >= 1, got {args.top_k}")
        if args.maxlen < 2:
            raise UsageError(f"--maxlen must be >= 2, got {args.maxlen}")
        if args.threads < 0:
            raise UsageError(f"--threads must be >= 0, got {args.threads}")
        texts = args.texts or [line.strip() for line in sys.stdin if line.strip()]
        if not texts:
            raise UsageError("no text given (as arguments or on standard input)")
        missing = [t for t in texts if "[MASK]" not in t]
        if missing:
            raise UsageError(f"every text needs a [MASK] token; none in {missing[0]!r}")
        model_dir = _model_dir(args.model)
    except UsageError as e:
        print(f"kexue fill-mask: error: {e}", file=sys.stderr)
        return USAGE_ERROR
    from kexue.infer import fill_mask
    from kexue.threads import set_threads

    set_threads(args.threads)
    try:
        model, tokenizer = _load(model_dir)
        results = fill_mask(model, tokenizer, texts, top_k=args.top_k, maxlen=args.maxlen)
    except (OSError, ValueError, TypeError) as e:  # TypeError: a family without an MLM head
        print(f"kexue fill-mask: error: {e}", file=sys.stderr)
        return RUNTIME_ERROR
    for text, masks in zip(texts, results):
        if args.json:
            record = {"text": text, "masks": [[{"token": c.token, "id": c.id,
                                                "probability": round(c.probability, 6)}
                                               for c in cands] for cands in masks]}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(_table(text, masks) + "\n")
    return OK
