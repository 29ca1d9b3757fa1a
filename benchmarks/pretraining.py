"""Pretraining throughput: kexue vs transformers, and the data pipeline.

- MLM + NSP: kexue's ``BertPretrainer`` (BERT layout; MLM head applied at the masked positions
  only) under ``kexue.train.fit`` vs transformers' ``BertForPreTraining`` under its
  ``Trainer``; both 4 layers x 256, 4 heads, FFN 1,024, the simplified Google vocabulary
  (13,585 tokens), max length 128, the same AdamW, on the same pre-masked examples of the
  pretrain_zh validation shard (whole-word masking done once by kexue's stream for both, so
  the collators do equal work; the masking cost is in the pipeline row). The kexue RoFormer
  of ``kexue-mini-zh`` is timed too.
- Causal LM: kexue's GPT-2 vs ``GPT2LMHeadModel`` (same sizes, same packed sequences).
- Pipeline: tokens/s of the example stream (packing + whole-word masking + NSP pairs) over
  a whole token store, and of the one-off tokenisation (jieba + WordPiece) when the store is
  built in this run.

Times are CPU seconds of the process (``time.process_time``; ``--threads``, 1 by default),
runs alternated, median of ``--repeats``: wall-clock time on the shared 2-core machine varies
more than the differences measured. Throughput counts real (non-padding) tokens.

    python benchmarks/pretraining.py [--steps 10] [--batch 16] [--repeats 3] [--record]
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
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kexue.pretrain.examples import PretrainStream, SpecialIds  # noqa: E402
from kexue.pretrain.model import build_pretrainer  # noqa: E402
from kexue.pretrain.run import collate, load_tokenizer, open_store  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SIZE = dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024)


def examples(store, token_dict, objectives, n):
    s = PretrainStream(store, SpecialIds(token_dict), max_length=128, objectives=objectives,
                       whole_word="lm" not in objectives, seed=0)
    out = []
    for ex in s:
        out.append(ex)
        if len(out) == n:
            break
    return out


def real_tokens(exs):
    return sum(len(e["token_ids"]) for e in exs)


def run_kexue(family, cfg, objectives, exs, batch, steps):
    from kexue.train import fit

    torch.manual_seed(0)
    model = build_pretrainer(family, cfg, objectives)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    t = time.process_time()
    fit(model, lambda m, b: m(**b), exs, optimizer=opt, batch_size=batch, steps=steps,
        collate_fn=collate, shuffle=False, progress=False, log_every=steps)
    return time.process_time() - t


class HFCollate:
    def __init__(self, lm: bool) -> None:
        self.lm = lm

    def __call__(self, exs):
        b = collate(exs)
        out = {"input_ids": b["token_ids"], "attention_mask": b["attention_mask"],
               "labels": b["labels"]}
        if not self.lm:
            out["token_type_ids"] = b["segment_ids"]
            out["next_sentence_label"] = b["nsp_label"]
        else:  # transformers shifts GPT-2 labels itself: give it the inputs
            lab = b["token_ids"].clone()
            lab[b["attention_mask"] == 0] = -100
            out["labels"] = lab
        return out


def run_hf(kind, vocab, exs, batch, steps):
    import transformers
    from transformers import Trainer, TrainingArguments

    torch.manual_seed(0)
    if kind == "bert":
        model = transformers.BertForPreTraining(transformers.BertConfig(
            vocab_size=vocab, max_position_embeddings=512, type_vocab_size=2, **SIZE))
    else:
        model = transformers.GPT2LMHeadModel(transformers.GPT2Config(
            vocab_size=vocab, n_embd=256, n_layer=4, n_head=4, n_positions=128))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, per_device_train_batch_size=batch,
                                 max_steps=steps, logging_steps=10_000, save_strategy="no",
                                 report_to=[], disable_tqdm=True, use_cpu=True,
                                 dataloader_num_workers=0, remove_unused_columns=False)
        t = time.process_time()
        Trainer(model=model, args=args, train_dataset=exs, data_collator=HFCollate(
            kind == "gpt2"), optimizers=(opt, sched)).train()
        return time.process_time() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--store", default=str(REPO / ".cache" / "pretrain-bench" / "valid"),
                    help="token store of the validation shard (built when absent)")
    ap.add_argument("--pipeline-store", default=None,
                    help="a token store to stream whole for the pipeline row (default --store)")
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = {"vocab": {"path": str(DATA / "vocab" / "google_zh_vocab.txt"),
                        "simplified": True}}
    tokenizer, token_dict, _ = load_tokenizer(config)
    valid = str(DATA / "pretrain_zh" / "valid.txt.gz")
    built = None
    store_dir = Path(args.store)
    if not (store_dir / "meta.json").exists():
        t = time.process_time()
        store = open_store(store_dir, [valid], tokenizer, token_dict, whole_word=True)
        built = (store.n_tokens, time.process_time() - t)
    store = open_store(store_dir, [valid], tokenizer, token_dict, whole_word=True)
    vocab = len(token_dict)
    n = args.steps * args.batch
    nsp = examples(store, token_dict, {"nsp": 1.0}, n)
    lm = examples(store, token_dict, {"lm": 1.0}, n)
    cfg = {**SIZE, "vocab_size": vocab, "max_position_embeddings": 512}
    gcfg = {"vocab_size": vocab, "n_embd": 256, "n_layer": 4, "n_head": 4, "n_positions": 128}
    runs = {k: [] for k in ("kexue BERT MLM+NSP", "kexue RoFormer MLM+NSP",
                            "transformers BertForPreTraining", "kexue GPT-2 LM",
                            "transformers GPT2LMHeadModel")}
    for _ in range(args.repeats):
        runs["kexue BERT MLM+NSP"].append(
            run_kexue("bert", cfg, {"nsp": 1.0}, nsp, args.batch, args.steps))
        runs["transformers BertForPreTraining"].append(
            run_hf("bert", vocab, nsp, args.batch, args.steps))
        runs["kexue RoFormer MLM+NSP"].append(
            run_kexue("roformer", cfg, {"nsp": 1.0}, nsp, args.batch, args.steps))
        runs["kexue GPT-2 LM"].append(
            run_kexue("gpt2", gcfg, {"lm": 1.0}, lm, args.batch, args.steps))
        runs["transformers GPT2LMHeadModel"].append(
            run_hf("gpt2", vocab, lm, args.batch, args.steps))
    med = {k: statistics.median(v) for k, v in runs.items()}
    toks = {k: real_tokens(lm if "GPT" in k else nsp) / med[k] for k in med}

    pstore = store
    if args.pipeline_store:
        from kexue.pretrain.tokens import TokenStore

        pstore = TokenStore(args.pipeline_store)
    t = time.process_time()
    count = sum(len(e["token_ids"]) for e in PretrainStream(
        pstore, SpecialIds(token_dict), max_length=128, objectives={"nsp": 1.0}, seed=0))
    pipe = count / (time.process_time() - t)

    print(f"\n{args.steps} steps of batch {args.batch}, max length 128, {args.threads} thread, "
          f"CPU seconds, median of {args.repeats}\n")
    print("| run | CPU s | real tokens/s | vs transformers |")
    print("|---|---:|---:|---:|")
    for k in med:
        ref = ("transformers GPT2LMHeadModel" if "GPT" in k
               else "transformers BertForPreTraining")
        print(f"| {k} | {med[k]:.2f} | {toks[k]:,.0f} | {toks[k] / toks[ref]:.2f}x |")
    print(f"\npipeline (pack + whole-word mask + NSP pairs) over {pstore.n_tokens:,} tokens: "
          f"{pipe:,.0f} tokens/s = {pipe / toks['kexue RoFormer MLM+NSP']:.0f}x the "
          f"RoFormer training")
    if built:
        print(f"tokenisation (jieba + WordPiece, once): {built[0] / built[1]:,.0f} tokens/s")
    if args.record:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=REPO).stdout.strip()
        common = {"data": "shared/data/pretrain_zh/valid.txt.gz",
                  "command": f"python benchmarks/pretraining.py --steps {args.steps} --batch "
                             f"{args.batch} --repeats {args.repeats} --record",
                  "commit": commit, "date": datetime.date.today().isoformat(),
                  "machine": "2-core CPU"}
        note = (f"4 x 256 models, vocab {vocab}, max length 128, batch {args.batch}, "
                f"{args.steps} steps, {args.threads} thread, CPU time, median of "
                f"{args.repeats} alternated runs on the shared machine; real tokens per CPU "
                f"second: " + ", ".join(f"{k} {v:,.0f}" for k, v in toks.items()))
        recs = [
            {"claim": "MLM+NSP pretraining throughput, kexue BERT vs transformers "
                      "BertForPreTraining + Trainer (tokens/s ratio)",
             "value": round(toks["kexue BERT MLM+NSP"]
                            / toks["transformers BertForPreTraining"], 3),
             "unit": "x", "notes": note, **common},
            {"claim": "causal-LM pretraining throughput, kexue GPT-2 vs transformers "
                      "GPT2LMHeadModel + Trainer (tokens/s ratio)",
             "value": round(toks["kexue GPT-2 LM"] / toks["transformers GPT2LMHeadModel"], 3),
             "unit": "x", "notes": note, **common},
            {"claim": "example pipeline throughput vs the kexue-mini-zh (RoFormer) training "
                      "throughput (tokens/s ratio)",
             "value": round(pipe / toks["kexue RoFormer MLM+NSP"], 1), "unit": "x",
             "notes": note + f"; pipeline {pipe:,.0f} tokens/s over {pstore.n_tokens:,} "
                             f"store tokens", **common},
        ]
        out = REPO / "results" / "pretraining.jsonl"
        from kexue.io.atomic import write_text

        old = out.read_text(encoding="utf-8") if out.exists() else ""
        write_text(out, old + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
