"""Summaries per second: batched beam search with and without the BIO copy constraint.

A randomly initialised kexue-mini-zh-shaped UniLM (or --model DIR, a summarizer directory),
CSL abstracts from the report split as documents. Prints one table row per setting; the ratio
column compares with plain beam search in the same run.

    python benchmarks/summarization.py --docs 32 --batch-size 16
"""

from __future__ import annotations

import argparse
import json
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
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    asset = kexue.assets.path("kexue-mini-zh")
    model = build_transformer_model(asset / "config.json", model="roformer",
                                    application="unilm").eval()
    tokenizer = Tokenizer(asset / "vocab.txt")
    docs = [a for a, _ in csl_split(load_csl(args.data))[1][: args.docs]]
    settings = {"family": "roformer", "maxlen": 80, "sparse_k": 10, "copy": False}
    rows = []
    for name, head in (("beam search", None), ("beam search + copy constraint", BIOHead(256))):
        s = Summarizer(model, tokenizer, {**settings, "copy": head is not None}, head)
        start = time.perf_counter()
        s.summarize(docs, num_beams=args.beams, max_new_tokens=args.max_new_tokens,
                    min_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
        rows.append((name, len(docs) / (time.perf_counter() - start)))
    print(json.dumps(vars(args), default=str))
    print("| setting | summaries/s | ratio |\n|---|---:|---:|")
    for name, rate in rows:
        print(f"| {name} | {rate:.2f} | {rate / rows[0][1]:.2f} |")


if __name__ == "__main__":
    main()
