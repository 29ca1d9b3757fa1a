"""Held-out perplexity of a pretrained causal LM against a character bigram model.

The issue's floor for kexue's small GPT: its per-token perplexity on the pretrain_zh
validation shard must be lower than that of a bigram model with add-k smoothing fitted on the
same tokens the GPT saw (the first ``steps x batch`` sequences of the training stream,
replayed: the stream is deterministic), with k chosen on the validation shard (which favours
the baseline). Both predict exactly the same targets: every ``labels[i] = token_ids[i + 1]``
of the validation examples (seed 12345, store order). The step-0 model (the config's seed,
fresh initialisation) is reported beside them.

    python experiments/pretrain_gpt_eval.py --config kexue/pretrain/configs/kexue-gpt-mini-zh.toml \
        --run-dir /work/runs/kexue-gpt-mini-zh [--model DIR] [--steps N] [--record]

``--model`` defaults to ``RUN_DIR/model``; ``--steps`` (default: the config's) sets how many
training batches the bigram model is fitted on.
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
from kexue.pretrain.model import CausalLMPretrainer, build_pretrainer  # noqa: E402
from kexue.pretrain.run import evaluate, load_tokenizer  # noqa: E402
from kexue.pretrain.tokens import TokenStore  # noqa: E402

K_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


def lm_examples(config: dict, store: TokenStore, token_dict: dict, *, seed: int,
                shuffle: bool, limit: int | None) -> list[dict]:
    dc = config["data"]
    stream = PretrainStream(store, SpecialIds(token_dict), max_length=dc["max_length"],
                            objectives={"lm": 1.0}, whole_word=False, seed=seed,
                            shuffle=shuffle)
    out: list[dict] = []
    epoch = 0
    while limit is None or len(out) < limit:
        stream.set_epoch(epoch)
        before = len(out)
        for ex in stream:
            out.append(ex)
            if limit is not None and len(out) >= limit:
                break
        if limit is None or len(out) == before:
            break
        epoch += 1
    return out


def pairs(examples: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(previous token, next token) of every prediction the LM makes on ``examples``."""
    prev, nxt = [], []
    for ex in examples:
        keep = ex["labels"] != -100
        prev.append(ex["token_ids"][keep])
        nxt.append(ex["labels"][keep])
    return np.concatenate(prev).astype(np.int64), np.concatenate(nxt).astype(np.int64)


class Bigram:
    """Add-k smoothed bigram: ``P(b | a) = (c(a, b) + k) / (c(a) + k V)``."""

    def __init__(self, prev: np.ndarray, nxt: np.ndarray, vocab_size: int) -> None:
        self.v = int(vocab_size)
        keys, counts = np.unique(prev * self.v + nxt, return_counts=True)
        self.keys, self.counts = keys, counts
        self.context = np.bincount(prev, minlength=self.v)

    def nll(self, prev: np.ndarray, nxt: np.ndarray, k: float) -> float:
        """Mean negative log-likelihood (nats) of ``nxt`` given ``prev``."""
        q = prev * self.v + nxt
        idx = np.searchsorted(self.keys, q)
        idx = np.minimum(idx, len(self.keys) - 1)
        c = np.where(self.keys[idx] == q, self.counts[idx], 0)
        p = (c + k) / (self.context[prev] + k * self.v)
        return float(-np.log(p).mean())


def measure(config: dict, run: Path, model_dir: Path | None, steps: int | None = None
            ) -> tuple[dict[str, float], dict]:
    """Validation perplexity of the model in ``model_dir`` (when it holds one), the step-0
    model and the add-k bigram; ``info`` holds the counts, ``k``, and the fixed slice (the
    first ``eval_examples`` validation sequences) with the model's perplexity on it."""
    tc = config["train"]
    steps = steps or tc["steps"]
    _, token_dict, _ = load_tokenizer(config)
    valid = lm_examples(config, TokenStore(run / "data" / "valid"), token_dict, seed=12345,
                        shuffle=False, limit=None)
    seen = lm_examples(config, TokenStore(run / "data" / "train"), token_dict,
                       seed=tc["seed"], shuffle=True, limit=steps * tc["batch_size"])
    bigram = Bigram(*pairs(seen), len(token_dict))
    vp, vn = pairs(valid)
    by_k = {k: bigram.nll(vp, vn, k) for k in K_GRID}
    best_k = min(by_k, key=by_k.get)
    rows = {BIGRAM: float(np.exp(by_k[best_k]))}
    slice_examples = valid[:tc["eval_examples"]]
    info = {"valid": len(valid), "predicted": len(vn), "fit": int(len(pairs(seen)[0])),
            "fit_sequences": len(seen), "steps": steps, "k": best_k, "slice": slice_examples,
            "slice_predicted": int(len(pairs(slice_examples)[1]))}
    if model_dir is not None and (model_dir / "model.safetensors").is_file():
        gpt = build_transformer_model(checkpoint_path=model_dir, model=config["model"]["family"],
                                      application="lm").float()
        rows["this model"] = evaluate(CausalLMPretrainer(gpt), valid)["val_ppl"]
        info["slice_ppl"] = evaluate(CausalLMPretrainer(gpt), slice_examples)["val_ppl"]
    mc = {k: v for k, v in config["model"].items() if k not in ("family", "checkpoint")}
    torch.manual_seed(tc["seed"])
    step0 = build_pretrainer(config["model"]["family"], {**mc, "vocab_size": len(token_dict)},
                             {"lm": 1.0})
    rows["step 0"] = evaluate(step0, valid)["val_ppl"]
    return rows, info


BIGRAM = "bigram (add-k, k chosen on validation)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--model", default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(args.config)
    if "lm" not in config["objectives"]:
        raise SystemExit("this script evaluates causal-LM runs (objectives lm = 1.0)")
    run = Path(args.run_dir)
    tc = config["train"]
    model_dir = Path(args.model) if args.model else run / "model"
    rows, info = measure(config, run, model_dir, args.steps)
    steps, best_k, n_fit = info["steps"], info["k"], info["fit"]
    print(f"validation: {info['valid']:,} sequences, {info['predicted']:,} predicted tokens; "
          f"bigram fitted on {n_fit:,} predictions of {info['fit_sequences']:,} training "
          f"sequences ({steps} steps); k = {best_k}\n")
    print("| model | perplexity |\n|---|---:|")
    for name, ppl in rows.items():
        print(f"| {name} | {ppl:.2f} |")
    vn_count = info["predicted"]
    if args.record:
        from kexue.recipes.records import write_records

        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=REPO).stdout.strip()
        common = {"unit": "perplexity", "data": "shared/data/pretrain_zh/valid.txt.gz",
                  "split": "valid",
                  "command": f"python experiments/pretrain_gpt_eval.py --config {args.config} "
                             f"--run-dir {args.run_dir} --record",
                  "commit": commit, "date": datetime.date.today().isoformat(),
                  "machine": "2-core CPU",
                  "notes": f"{vn_count} predicted tokens; bigram fitted on {n_fit} predictions "
                           f"({steps} steps x {tc['batch_size']}), add-k k={best_k}"}
        recs = [{"claim": f"{config['name']} validation perplexity, {name}",
                 "value": round(ppl, 3), **common} for name, ppl in rows.items()]
        out = REPO / "results" / "pretraining.jsonl"
        # a rerun of the same command replaces its earlier records
        write_records(out, recs, recs[0]["command"], recs[0]["commit"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
