"""Keyword-constrained sentences (kexue.fm/archives/8194): CGMH Metropolis-Hastings and
simulated annealing vs. random orderings of the same tokens and vs. left-to-right sampling
with the keywords forced, all scored by the same target (gamma * masked-LM pseudo-log-
likelihood of kexue-mini-zh, gamma = 0.8).

- mh / anneal: `kexue sample-text`'s sampler, STEPS steps from the keywords;
- shuffled: the final MH sentence's tokens (keywords as units) in random orders;
- left-to-right: as many tokens as the MH sentence, drawn one at a time from the MLM's top-K at
  a [MASK] appended after the prefix, the keywords forced at evenly spaced positions.

    python experiments/mcmc_keywords.py
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

import torch

import kexue.assets
from kexue.decoding.mcmc import CGMHSampler, TextState
from kexue.decoding.mlm_text import MaskedLMText
from kexue.models import build_transformer_model
from kexue.recipes.records import git_commit, write_records
from kexue.text import Tokenizer

REPO = Path(__file__).resolve().parents[1]
KEYWORDS = (("科学", "空间"), ("广州", "美食", "开幕"), ("好吃", "零食"))


def left_to_right(lm: MaskedLMText, keywords, length: int, rng: random.Random) -> tuple:
    slots = {round((k + 1) * length / (len(keywords) + 1)): w for k, w in enumerate(keywords)}
    out: list[str] = []
    todo = list(keywords)
    while len(out) < length or todo:
        if len(out) in slots and slots[len(out)] in todo:
            out.append(slots[len(out)])
            todo.remove(out[-1])
            continue
        cands, logits = lm.proposal(tuple(out) + (lm.MASK,), len(out))
        weights = torch.softmax(torch.tensor(logits), 0).tolist()
        out.append(rng.choices(cands, weights=weights)[0])
    return tuple(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--top-k", type=int, default=16)
    ap.add_argument("--no-records", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    commit = git_commit(REPO)
    asset = kexue.assets.path("kexue-mini-zh")
    model = build_transformer_model(checkpoint_path=asset, with_mlm=True, strict=False)
    lm = MaskedLMText(model, Tokenizer(asset / "vocab.txt"), top_k=args.top_k, gamma=0.8)
    scores: dict[str, list[float]] = {"mh": [], "anneal": [], "shuffled": [], "left-to-right": []}
    rates: dict[str, list[float]] = {}
    for n, words in enumerate(KEYWORDS):
        for mode in ("mh", "anneal"):
            schedule = None
            if mode == "anneal":
                def schedule(t: int) -> float:
                    return max(0.05, 1.0 - 0.95 * t / max(1, args.steps - 1))
            sampler = CGMHSampler(lm.log_target, proposal=lm.proposal, mask=lm.MASK,
                                  min_len=len(words), max_len=24, temperature=schedule)
            final = sampler.run(TextState(tuple(words), (True,) * len(words)), args.steps,
                                seed=n)[-1]
            scores[mode].append(lm.log_target(final.tokens))
            for op, r in sampler.acceptance_rates().items():
                if r is not None:
                    rates.setdefault(f"{mode} {op}", []).append(r)
            print(mode, "".join(words), "->", "".join(final.tokens), scores[mode][-1])
            if mode == "mh":
                rng = random.Random(n)
                shuffled = []
                for _ in range(5):
                    toks = list(final.tokens)
                    rng.shuffle(toks)
                    shuffled.append(lm.log_target(tuple(toks)))
                scores["shuffled"].append(statistics.mean(shuffled))
                ltr = left_to_right(lm, words, len(final.tokens), random.Random(n))
                scores["left-to-right"].append(lm.log_target(ltr))
                print("left-to-right", "".join(ltr), scores["left-to-right"][-1])
    summary = {k: statistics.mean(v) for k, v in scores.items()}
    print(summary, {k: statistics.mean(v) for k, v in rates.items()})
    if args.no_records:
        return 0
    note = (f"{len(KEYWORDS)} keyword sets {['/'.join(k) for k in KEYWORDS]}, {args.steps} "
            f"steps, top-{args.top_k} MLM proposals, kexue-mini-zh; one chain per set")
    base = {"data": "keyword sets in experiments/mcmc_keywords.py", "article": "8194",
            "notes": note}
    records = [{**base, "claim": f"keyword sentences, {k}: mean target 0.8*PLL",
                "value": round(v, 3), "unit": "nats"} for k, v in summary.items()]
    records += [{**base, "claim": f"keyword sentences, acceptance rate of {k}",
                 "value": round(statistics.mean(v), 3), "unit": "share"}
                for k, v in sorted(rates.items())]
    write_records(REPO / "results" / "summarization.jsonl", records,
                  "python experiments/mcmc_keywords.py", commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
