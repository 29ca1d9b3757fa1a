"""SPACES generator on CSL abstract -> title: train one run, evaluate it on the report split.

Runs (kexue.fm/archives/8046):
  baseline     kexue-mini-zh, UniLM, sparse softmax k=10 (train and decode), input noise 15 %
  no-sparse    as baseline with plain softmax cross-entropy
  copy         as baseline plus the BIO copy head (loss weight 2) and copy-constrained decoding
  random-init  as baseline from a random initialisation of the same architecture
  copy-no-sparse, random-init-no-sparse
               the same with plain softmax cross-entropy (sparse softmax collapses a small
               model's logits: see docs/summarization.md)

Split (shared/CONVENTIONS.md): first 800 rows of csl_ts_dev.tsv train, last 200 report.
Writes the model directory, predictions.jsonl and metrics.json under --out/RUN, and result
records to results/summarization.jsonl. The same command resumes an interrupted training.

    python experiments/spaces_generator.py --run baseline
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch

import kexue.assets
from kexue.data import PadCollate
from kexue.io.atomic import write_bytes, write_text
from kexue.models import build_transformer_model
from kexue.models.saving import save_pretrained
from kexue.objectives import SparseCrossEntropy
from kexue.recipes.bootstrap import bootstrap_interval
from kexue.recipes.records import git_commit, write_records
from kexue.recipes.spaces.data import csl_split, load_csl
from kexue.recipes.spaces.generator import (
    HEAD_FILE,
    SETTINGS_FILE,
    Summarizer,
    UniLMCopy,
    copy_example,
    faithfulness,
    same_sequence_noise,
    word_vocab,
)
from kexue.text import Tokenizer, wobert_tokenizer
from kexue.text.rouge import char_tokens, rouge_scores, weighted_rouge
from kexue.train import fit

RUNS = ("baseline", "no-sparse", "copy", "random-init", "copy-no-sparse",
        "random-init-no-sparse")
DATA = Path("/work/shared/data/summarization/csl_ts_dev.tsv")
REPO = Path(__file__).resolve().parents[1]


class NoisyExamples(torch.utils.data.Dataset):
    """Training examples with fresh same-sequence noise at every access."""

    def __init__(self, examples: list[dict], rate: float, seed: int) -> None:
        self.examples, self.rate, self.rng = examples, rate, random.Random(seed)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict:
        return same_sequence_noise(self.examples[i], self.rate, self.rng)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", choices=RUNS, required=True)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=Path("/work/runs/issue19-spaces/generator"))
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--maxlen", type=int, default=112)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--limit", type=int, default=0, help="train/eval on this many pairs (smoke)")
    ap.add_argument("--words", type=int, default=0,
                    help="word-level input: add this many jieba words to the vocabulary "
                         "(SPACES/WoBERT use 20000; 0 = characters)")
    ap.add_argument("--no-records", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    commit = git_commit(REPO)
    name = args.run + (f"-words{args.words}" if args.words else "")
    run_dir = args.out / name
    run_dir.mkdir(parents=True, exist_ok=True)
    train, report = csl_split(load_csl(args.data))
    if args.limit:
        train, report = train[: args.limit], report[: args.limit]

    asset = kexue.assets.path("kexue-mini-zh")
    family = kexue.assets.family("kexue-mini-zh")
    vocab: Path | dict = asset / "vocab.txt"
    carry = {}
    if args.words:  # the added words start at the mean of their characters' rows
        wv = word_vocab(asset / "vocab.txt", args.words)
        vocab, tokenizer = wv.token_dict, wobert_tokenizer(wv)
        carry = {"keep_tokens": wv.keep_tokens, "compound_tokens": wv.compound_tokens}
    else:
        tokenizer = Tokenizer(asset / "vocab.txt", do_lower_case=True)
    if args.run.startswith("random-init"):
        config = json.loads((asset / "config.json").read_text(encoding="utf-8"))
        config["vocab_size"] = len(tokenizer.token_dict)
        model = build_transformer_model(config, model=family, application="unilm")
    else:
        model = build_transformer_model(checkpoint_path=asset, model=family,
                                        application="unilm", strict=False, **carry)
    sparse = not args.run.endswith("no-sparse")
    copy = args.run.startswith("copy")
    net = UniLMCopy(model, loss=SparseCrossEntropy(k=10) if sparse else None,
                    copy_weight=2.0 if copy else 0.0)
    examples = [copy_example(tokenizer, a, t, args.maxlen) for a, t in train]
    if not copy:
        examples = [{k: v for k, v in e.items() if k != "bio"} for e in examples]
    data = NoisyExamples(examples, 0.15, seed=0)
    start = time.time()
    trainer = fit(
        net, lambda m, b: m(**b), data,
        optimizer=torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01),
        collate_fn=PadCollate({"labels": -100, "bio": -100}), batch_size=args.batch_size,
        epochs=args.epochs, checkpoint_dir=run_dir / "ckpt", resume=True, seed=0,
        clip_grad_norm=1.0, log_every=10,
    )  # fmt: skip
    train_s = time.time() - start
    net.eval()
    model_dir = run_dir / "model"
    save_pretrained(net.model, model_dir, vocab=vocab, overwrite=True)
    settings = {"family": family, "maxlen": args.maxlen - 32, "sparse_k": 10 if sparse else 0,
                "copy": copy, "run": args.run, "words": args.words}
    write_text(model_dir / SETTINGS_FILE, json.dumps(settings, indent=1) + "\n")
    if copy:
        from safetensors.torch import save

        write_bytes(model_dir / HEAD_FILE, save({k: v.contiguous() for k, v in
                                                 net.head.state_dict().items()}))

    summarizer = Summarizer.load(model_dir)
    start = time.time()
    outputs = summarizer.summarize([a for a, _ in report], max_new_tokens=40, batch_size=32)
    decode_s = time.time() - start
    rows, per = [], {"r1": [], "r2": [], "rl": [], "char": [], "word": [], "faith2": []}
    for (abstract, title), out in zip(report, outputs):
        s = rouge_scores(out, title, "char")
        per["r1"].append(s["rouge-1"].f)
        per["r2"].append(s["rouge-2"].f)
        per["rl"].append(s["rouge-l"].f)
        per["char"].append(weighted_rouge(out, title, "char"))
        per["word"].append(weighted_rouge(out, title, "word"))
        f2 = faithfulness(char_tokens(out), char_tokens(abstract), 2)
        per["faith2"].append(0.0 if f2 is None else f2)
        rows.append({"title": title, "output": out})
    write_text(run_dir / "predictions.jsonl",
               "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    metrics = {k: bootstrap_interval(v) for k, v in per.items()}
    losses = [h.get("loss") for h in getattr(trainer, "history", []) if isinstance(h, dict)]
    metrics["train_seconds"], metrics["decode_seconds"] = train_s, decode_s
    metrics["final_loss"] = losses[-1] if losses else None
    write_text(run_dir / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    print(json.dumps(metrics, indent=1))
    if args.no_records or args.limit:
        return 0
    cmd = "python experiments/spaces_generator.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    size = (f"{len(train)} train pairs x {args.epochs} epochs, batch {args.batch_size}, "
            f"maxlen {args.maxlen}, lr {args.lr}; "
            + (f"word-level input (+{args.words} jieba words); " if args.words else "")
            + "beam 3; 1 thread")
    names = {"r1": "ROUGE-1 F (char)", "r2": "ROUGE-2 F (char)", "rl": "ROUGE-L F (char)",
             "char": "0.2R1+0.4R2+0.4RL (char)", "word": "0.2R1+0.4R2+0.4RL (jieba words)",
             "faith2": "faithfulness: share of output char bigrams found in the abstract"}
    records = [{"claim": f"CSL title generation, run {name}: {names[k]}",
                "article": "8046", "value": metrics[k],
                "unit": "F-score" if k != "faith2" else "share",
                "data": "shared/data/summarization/csl_ts_dev.tsv", "split": "last 200 rows",
                "notes": size + "; 95% bootstrap interval over the 200 pairs"} for k in names]
    write_records(REPO / "results" / "summarization.jsonl", records, cmd, commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
