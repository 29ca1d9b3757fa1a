"""Held-out metrics of a pretrained MLM model (the numbers its model card reports).

Masked-token accuracy on the pretrain_zh validation shard, on the whole shard and on the
fixed slice the training run evaluates (the first ``eval_examples`` examples of the
validation stream: seed 12345, store order, the config's objectives and masking), compared
with a unigram-frequency guess (always the most frequent ordinary token of the training
store) and with the model at step 0 (the config's seed, BERT-style initialisation).

    python experiments/pretrain_eval.py --config kexue/pretrain/configs/kexue-mini-zh.toml \
        --run-dir /work/runs/kexue-mini-zh [--model DIR] [--record]

``--model`` defaults to ``RUN_DIR/model``. ``--record`` appends to results/pretraining.jsonl.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kexue.models import build_transformer_model  # noqa: E402
from kexue.pretrain.config import load_config  # noqa: E402
from kexue.pretrain.examples import PretrainStream, SpecialIds  # noqa: E402
from kexue.pretrain.model import BertPretrainer, build_pretrainer  # noqa: E402
from kexue.pretrain.run import evaluate, load_tokenizer  # noqa: E402
from kexue.pretrain.tokens import TokenStore  # noqa: E402


def valid_examples(config, store, token_dict):
    dc = config["data"]
    return list(PretrainStream(store, SpecialIds(token_dict), max_length=dc["max_length"],
                               objectives=dict(config["objectives"]),
                               whole_word=dc["whole_word"], mask_rate=dc["mask_rate"],
                               seed=12345, shuffle=False))


def unigram_accuracy(train: TokenStore, examples, first_normal: int) -> tuple[float, int]:
    counts = np.bincount(np.asarray(train.ids), minlength=first_normal + 1)
    counts[:first_normal] = 0
    guess = int(counts.argmax())
    labels = np.concatenate([e["labels"][e["labels"] != -100] for e in examples])
    return float((labels == guess).mean()), guess


def measure(config: dict, run: Path, model_dir: Path) -> tuple[dict, dict]:
    """Masked-token accuracy of the model in ``model_dir``, of the model at step 0 and of
    the unigram guess, on the whole validation shard and on its first ``eval_examples``
    examples; returns ``(rows, info)``."""
    _, token_dict, _ = load_tokenizer(config)
    sp = SpecialIds(token_dict)
    valid = valid_examples(config, TokenStore(run / "data" / "valid"), token_dict)
    n_slice = config["train"]["eval_examples"]
    family = config["model"]["family"]
    nsp = "nsp" in config["objectives"]
    unilm = "unilm" in config["objectives"]
    kw = {"application": "unilm"} if unilm else {"with_mlm": True, **({"with_nsp": True}
                                                                       if nsp else {})}
    trained = build_transformer_model(checkpoint_path=model_dir, model=family, **kw).float()
    pre = BertPretrainer(trained, nsp=nsp)
    mc = {k: v for k, v in config["model"].items() if k not in ("family", "checkpoint")}
    torch.manual_seed(config["train"]["seed"])
    step0 = build_pretrainer(family, {**mc, "vocab_size": len(token_dict)},
                             dict(config["objectives"]))
    train = TokenStore(run / "data" / "train")
    uni, guess = unigram_accuracy(train, valid, sp.first_normal)
    rows = {}
    for name, part in (("whole validation shard", valid), (f"first {n_slice} examples",
                                                            valid[:n_slice])):
        rows[name] = {"model": evaluate(pre, part), "step 0": evaluate(step0, part),
                      "unigram": unigram_accuracy(train, part, sp.first_normal)[0],
                      "examples": len(part),
                      "masked": int(sum((e["labels"] != -100).sum() for e in part))}
    names = {i: t for t, i in token_dict.items()}
    info = {"guess": names[guess], "guess_id": guess, "unigram_overall": uni,
            "slice": valid[:n_slice], "slice_name": f"first {n_slice} examples"}
    return rows, info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--model", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(args.config)
    if "lm" in config["objectives"]:
        raise SystemExit("this script evaluates MLM models")
    run = Path(args.run_dir)
    model_dir = Path(args.model) if args.model else run / "model"
    rows, info = measure(config, run, model_dir)
    print(f"model {model_dir}; unigram guess {info['guess']!r} (id {info['guess_id']}) "
          f"(overall {info['unigram_overall']:.4f})\n")
    print("| data | examples | masked tokens | model | step 0 | unigram guess | model / unigram |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        acc = r["model"]["val_mlm_acc"]
        print(f"| {name} | {r['examples']:,} | {r['masked']:,} | {acc:.4f} | "
              f"{r['step 0']['val_mlm_acc']:.4f} | {r['unigram']:.4f} | "
              f"{acc / max(r['unigram'], 1e-12):.1f}x |")
    if args.record:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=REPO).stdout.strip()
        common = {"data": "shared/data/pretrain_zh/valid.txt.gz", "split": "valid",
                  "command": f"python experiments/pretrain_eval.py --config {args.config} "
                             f"--run-dir {args.run_dir} --record",
                  "commit": commit, "date": datetime.date.today().isoformat(),
                  "machine": "2-core CPU"}
        recs = []
        for name, r in rows.items():
            for who, value in (("model", r["model"]["val_mlm_acc"]),
                               ("step 0", r["step 0"]["val_mlm_acc"]),
                               ("unigram guess", r["unigram"])):
                recs.append({"claim": f"{config['name']} masked-token accuracy, {who}, {name}",
                             "value": round(value, 5), "unit": "fraction",
                             "notes": f"{r['masked']} masked tokens in {r['examples']} examples",
                             **common})
        out = REPO / "results" / "pretraining.jsonl"
        from kexue.recipes.records import write_records

        # a rerun of the same command replaces its earlier records
        write_records(out, recs, recs[0]["command"], recs[0]["commit"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
