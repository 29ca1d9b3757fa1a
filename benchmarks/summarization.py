"""Summaries per second: batched beam search with and without the BIO copy constraint, and
the same beam search one document at a time (bert4keras' decoder works that way).

A randomly initialised kexue-mini-zh-shaped UniLM, or ``--model DIR`` (a summarizer
directory, e.g. a trained SPACES generator); CSL abstracts from the report split as documents.
Every summary is forced to ``--max-new-tokens`` tokens, so all settings do the same work.
CPU time of this process (``time.process_time``), so other jobs on a shared machine do not
count. ``--record`` appends the table to results/summarization.jsonl.

    python benchmarks/summarization.py --docs 32 --batch-size 16 [--model DIR] [--record]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

import kexue.assets
from kexue.decoding.copy import BIOHead
from kexue.models import build_transformer_model
from kexue.recipes.spaces.data import csl_split, load_csl
from kexue.recipes.spaces.generator import Summarizer
from kexue.text import Tokenizer

DATA = Path("/work/shared/data/summarization/csl_ts_dev.tsv")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--docs", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--beams", type=int, default=3)
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", type=Path, default=None, help="a summarizer directory")
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    docs = [a for a, _ in csl_split(load_csl(args.data))[1][: args.docs]]
    if args.model is not None:
        loaded = Summarizer.load(args.model)
        model, tokenizer, settings = loaded.model, loaded.tokenizer, loaded.settings
        head = loaded.head if loaded.head is not None else BIOHead(model.config.hidden_size)
    else:
        asset = kexue.assets.path("kexue-mini-zh")
        model = build_transformer_model(asset / "config.json", model="roformer",
                                        application="unilm").eval()
        tokenizer = Tokenizer(asset / "vocab.txt")
        settings = {"family": "roformer", "maxlen": 80, "sparse_k": 10, "copy": False}
        head = BIOHead(model.config.hidden_size)
    rows = []
    for name, h, batch in (("batched beam search", None, args.batch_size),
                           ("batched beam search + copy constraint", head, args.batch_size),
                           ("beam search + copy constraint, one document at a time", head, 1)):
        s = Summarizer(model, tokenizer, {**settings, "copy": h is not None}, h)
        start = time.process_time()
        s.summarize(docs, num_beams=args.beams, max_new_tokens=args.max_new_tokens,
                    min_new_tokens=args.max_new_tokens, batch_size=batch)
        rows.append((name, len(docs) / (time.process_time() - start)))
    print(json.dumps(vars(args), default=str))
    print("| setting | summaries/s | ratio |\n|---|---:|---:|")
    for name, rate in rows:
        print(f"| {name} | {rate:.2f} | {rate / rows[0][1]:.2f} |")
    if args.record:
        from kexue.recipes.records import git_commit, write_records

        repo = Path(__file__).resolve().parents[1]
        what = str(args.model) if args.model else "random kexue-mini-zh-shaped UniLM"
        write_records(repo / "results" / "summarization.jsonl", [
            {"claim": f"summaries/s, {name}", "value": round(rate, 3), "unit": "summaries/s",
             "article": "8046", "data": "shared/data/summarization/csl_ts_dev.tsv",
             "split": f"first {len(docs)} of the last 200 rows",
             "notes": f"{what}; beam {args.beams}, {args.max_new_tokens} new tokens forced, "
                      f"batch {args.batch_size}, {args.threads} thread(s), CPU time"}
            for name, rate in rows],
            "python benchmarks/summarization.py " + " ".join(sys.argv[1:]), git_commit(repo))


if __name__ == "__main__":
    main()
