"""Training-loop overhead and padding saved by length bucketing.

1. Steps/s of ``kexue.train.fit`` vs a hand-written loop (zero_grad, forward, backward, step,
   keep the loss tensor) and vs ``transformers.Trainer``, on the same model (the RoFormer
   classifier of examples/sentiment.py, 2 layers x 64), the same data (the first
   ``--examples`` sentiment training sentences, char vocab, maxlen 64), batch 32, AdamW, one
   thread. Runs alternate between the loops; each cell is the median of ``--repeats`` runs of
   ``--steps`` optimizer steps (whole calls timed, set-up included). Times are this process's
   CPU seconds (``time.process_time``; one thread, no loader workers), because wall-clock time
   on the shared machine varied by more than the differences measured. fit runs with
   ``progress=False``, and again with its default tqdm bar.
2. Padding: tokens computed (batch x longest) vs real tokens over one epoch of the full
   sentiment training split, plain shuffled batches vs ``LengthBucketSampler`` (window 100).

    python benchmarks/training.py [--steps 60] [--repeats 5] [--record]

``--record`` appends the measured numbers to results/training.jsonl.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from examples.sentiment import Classifier, load  # noqa: E402
from kexue.data import LengthBucketSampler, PadCollate, ShuffledBatchSampler  # noqa: E402
from kexue.io.atomic import write_text  # noqa: E402
from kexue.text import Tokenizer  # noqa: E402
from kexue.train import fit  # noqa: E402

BATCH = 32


def make_data(n: int, maxlen: int) -> tuple[list[dict], int]:
    rows = load("train")
    chars = sorted({ch for t, _ in rows for ch in t.lower() if not ch.isspace()})
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars])}
    tok = Tokenizer(vocab)
    ids = tok.encode_batch([t for t, _ in rows[:n]], maxlen=maxlen)
    return [{"token_ids": t, "labels": y} for (t, _), (_, y) in zip(ids, rows[:n])], len(vocab)


def new_model(vocab: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = Classifier(vocab, 64, 2)
    model.train()
    return model, torch.optim.AdamW(model.parameters(), lr=1e-3)


def loss_fn(m: nn.Module, batch: dict) -> torch.Tensor:
    return nn.functional.cross_entropy(m(batch["token_ids"], batch["attention_mask"]),
                                       batch["labels"])


def run_fit(data, vocab, steps, progress=False) -> float:
    model, opt = new_model(vocab)
    t = time.process_time()
    fit(model, loss_fn, data, optimizer=opt, batch_size=BATCH, steps=steps,
        collate_fn=PadCollate(), progress=progress)
    return time.process_time() - t


def run_hand(data, vocab, steps) -> float:
    model, opt = new_model(vocab)
    t = time.process_time()
    loader = torch.utils.data.DataLoader(
        data, batch_sampler=ShuffledBatchSampler(len(data), BATCH), collate_fn=PadCollate())
    losses, done = [], 0
    while done < steps:
        for batch in loader:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model, batch)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
            done += 1
            if done == steps:
                break
    torch.stack(losses).tolist()
    return time.process_time() - t


class HFWrapper(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, token_ids, attention_mask, labels):
        logits = self.inner(token_ids, attention_mask)
        return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}


def run_trainer(data, vocab, steps) -> float:
    from transformers import Trainer, TrainingArguments

    model, opt = new_model(vocab)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, per_device_train_batch_size=BATCH,
                                 max_steps=steps, logging_steps=50, save_strategy="no",
                                 report_to=[], disable_tqdm=True, use_cpu=True,
                                 dataloader_num_workers=0, remove_unused_columns=False)
        t = time.process_time()
        trainer = Trainer(model=HFWrapper(model), args=args, train_dataset=data,
                          data_collator=PadCollate(), optimizers=(opt, sched))
        trainer.train()
        return time.process_time() - t


def padding_table(maxlen: int) -> dict:
    rows = load("train")
    lengths = [min(len(t), maxlen - 2) + 2 for t, _ in rows]
    out = {}
    for name, sampler in (("shuffled", ShuffledBatchSampler(len(lengths), BATCH, seed=0)),
                          ("bucketed", LengthBucketSampler(lengths, BATCH, window=100, seed=0))):
        batches = sampler.batches(0)
        out[name] = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    out["real"] = sum(lengths)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--examples", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    data, vocab = make_data(args.examples, 64)

    runs = {"hand": [], "fit": [], "fit+bar": [], "Trainer": []}
    # warm-up (imports, allocator)
    run_hand(data, vocab, 5), run_fit(data, vocab, 5), run_trainer(data, vocab, 5)
    for _ in range(args.repeats):
        runs["hand"].append(run_hand(data, vocab, args.steps))
        runs["fit"].append(run_fit(data, vocab, args.steps))
        runs["fit+bar"].append(run_fit(data, vocab, args.steps, progress=True))
        runs["Trainer"].append(run_trainer(data, vocab, args.steps))
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"\n{args.steps} steps of batch {BATCH}, RoFormer 2x64 classifier, maxlen 64, "
          f"{args.threads} thread(s), median of {args.repeats}\n")
    print("| loop | CPU s per run | steps per CPU s | vs hand-written | fit vs it |")
    print("|---|---:|---:|---:|---:|")
    for k, v in med.items():
        print(f"| {k} | {v:.2f} | {args.steps / v:.1f} | {v / med['hand'] - 1:+.1%} | "
              f"{v / med['fit']:.2f}x |")
    print("\nPadding over one epoch of sentiment.train.data, batch 32:\n")
    print("| maxlen | real tokens | computed, shuffled | computed, bucketed | padding saved |")
    print("|---:|---:|---:|---:|---:|")
    pads = {}
    for maxlen in (100, 512):
        p = padding_table(maxlen)
        pads[maxlen] = p
        saved = 1 - (p["bucketed"] - p["real"]) / (p["shuffled"] - p["real"])
        print(f"| {maxlen} | {p['real']:,} | {p['shuffled']:,} | {p['bucketed']:,} | "
              f"{saved:.1%} of the pad tokens ({1 - p['bucketed'] / p['shuffled']:.1%} "
              f"of all computed) |")
    if args.record:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=REPO).stdout.strip()
        common = {"data": "shared/data/sentiment/sentiment.train.data",
                  "command": "python benchmarks/training.py --record", "commit": commit,
                  "date": datetime.date.today().isoformat(), "machine": "2-core CPU"}
        note = (f"{args.steps} steps, batch {BATCH}, RoFormer 2x64 classifier, maxlen 64, "
                f"{args.threads} thread, CPU time (process_time), median of {args.repeats} "
                f"alternated runs on the shared machine")
        recs = [
            {"claim": "fit overhead vs a hand-written loop (time per run, progress bar off)",
             "value": round(100 * (med["fit"] / med["hand"] - 1), 2), "unit": "%",
             "notes": note, **common},
            {"claim": "fit overhead vs a hand-written loop (time per run, tqdm bar on)",
             "value": round(100 * (med["fit+bar"] / med["hand"] - 1), 2), "unit": "%",
             "notes": note, **common},
            {"claim": "fit speed relative to transformers Trainer (steps/s ratio)",
             "value": round(med["Trainer"] / med["fit"], 3), "unit": "x",
             "notes": note + "; Trainer with the same AdamW, constant LR, no saving/logging",
             **common},
        ]
        for maxlen, p in pads.items():
            recs.append({"claim": f"pad tokens removed by length bucketing (window 100, "
                                  f"batch 32, maxlen {maxlen})",
                         "value": round(100 * (1 - (p["bucketed"] - p["real"]) /
                                               (p["shuffled"] - p["real"])), 2),
                         "unit": "%", "notes": f"computed tokens {p['shuffled']:,} -> "
                                               f"{p['bucketed']:,}; real {p['real']:,}",
                         **common})
        path = REPO / "results" / "training.jsonl"
        path.parent.mkdir(exist_ok=True)
        old = path.read_text("utf-8") if path.exists() else ""
        write_text(path, old + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
