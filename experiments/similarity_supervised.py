"""Supervised similarity recipes on the senteval_cn train parts (issue 18), one per call:

    python experiments/similarity_supervised.py RECIPE [--per-task 300] [--dev-limit 300]
        [--epochs 1] [--record results/similarity.jsonl]

RECIPE: ``classifier`` ([u, v, |u−v|] head, 8541), ``cosine`` (8541's cosine loss),
``cosent`` (8847), ``simbert`` (UniLM + in-batch contrastive, 7427), ``cln`` / ``shared`` /
``per-task`` (cross-encoder matchers, 8337), ``gru-am`` / ``gru-softmax`` (5743).
Base model: the shipped kexue-mini-zh (4 x 256 RoFormer). Prints Spearman x100 per dev slice
and the Sohu labelA F1, and writes one record per number.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: the article of each recipe and its published numbers (real base models, test splits or the
#: article's own data): Spearman x100 per task, Sohu F1, retrieval top-k
ARTICLE = {
    "classifier": ("8541", {"ATEC": 51.71, "BQ": 73.48, "LCQMC": 79.56, "PAWSX": 62.84,
                            "STS-B": 78.28}, "RoFormer-Sim-FT base (binary + NLI data)"),
    "cosine": ("8541", {}, "the article reports this loss worse, without numbers"),
    "cosent": ("8847", {}, ""),
    "simbert": ("7427", {"ATEC": 38.50, "BQ": 48.54, "LCQMC": 76.23, "PAWSX": 15.10,
                         "STS-B": 74.14}, "SimBERT base P1 without whitening (8321's table)"),
    "cln": ("8337", {"sohu_f1": 0.74}, "the article's F1 is on the full Sohu data, A and B"),
    "shared": ("8337", {}, ""),
    "per-task": ("8337", {}, ""),
    "gru-am": ("5743", {"top1": 0.9172, "top5": 0.9607, "top10": 0.9709},
               "Su's private paraphrase groups"),
    "gru-softmax": ("5743", {"top1": 0.9077, "top5": 0.9565, "top10": 0.9673},
                    "Su's private paraphrase groups"),
}

RECIPES = ("classifier", "cosine", "cosent", "simbert", "cln", "shared", "per-task",
           "gru-am", "gru-softmax")


#: the recipes whose trained model is a sentence encoder (``--save`` writes it)
ENCODERS = ("classifier", "cosine", "cosent", "simbert")


def main() -> int:
    import torch

    import kexue
    from kexue.recipes.records import git_commit, write_records
    from kexue.recipes.similarity import train as T
    from kexue.similarity.data import default_root, read_sohu

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe", choices=RECIPES)
    ap.add_argument("--per-task", type=int, default=300, help="train pairs per task")
    ap.add_argument("--dev-limit", type=int, default=300,
                    help="dev pairs per task scored (>= 100000: the whole dev part)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--maxlen", type=int, default=32)
    ap.add_argument("--record", default=None)
    ap.add_argument("--save", default=None, help="write the trained encoder to this directory "
                    "(classifier, cosine, cosent, simbert)")
    args = ap.parse_args()
    if args.save and args.recipe not in ENCODERS:
        ap.error(f"--save: the {args.recipe} recipe is not a sentence encoder")
    torch.set_num_threads(1)
    commit = git_commit()
    setup = T.Setup(kexue.assets.path("kexue-mini-zh"), kexue.assets.family("kexue-mini-zh"),
                    per_task=args.per_task, dev_limit=args.dev_limit, maxlen=args.maxlen,
                    batch_size=args.batch_size, epochs=args.epochs, lr=args.lr,
                    log=lambda s: print(s, flush=True))
    sohu = read_sohu(default_root() / "sohu2021" / "samples.txt")
    t0 = time.time()
    r = args.recipe
    if r in ("classifier", "cosine", "cosent"):
        out = T.train_siamese(setup, r, sohu, save=args.save)
    elif r == "simbert":
        out = T.train_simbert(setup, sohu=sohu, save=args.save)
    elif r in ("cln", "shared", "per-task"):
        out = T.train_matcher(setup, r, sohu)
    else:
        out = T.train_gru(setup, 0.35 if r == "gru-am" else 0.0, epochs=max(args.epochs, 1))
    wall = time.time() - t0
    print(f"{r}: {wall / 60:.1f} min (training + evaluation)")
    if args.record:
        cmd = shlex.join(["python", "experiments/similarity_supervised.py", *sys.argv[1:]])
        size = (f"kexue-mini-zh, {args.per_task} train pairs per task, {args.epochs} epoch(s), "
                f"batch {args.batch_size}, lr {args.lr}, maxlen {args.maxlen}; "
                f"{wall / 60:.1f} min on the shared 2-core CPU incl. evaluation")
        recs = []
        art, art_values, art_note = ARTICLE[r]
        for key, v in out.items():
            if key == "sohu_f1":
                recs.append({"claim": f"{r} Sohu labelA F1", "value": round(v, 4), "unit": "F1",
                             "data": "shared/data/sohu2021/samples.txt", "split": "all",
                             "table": "sohu", "recipe": r, "notes": size})
            elif key.startswith("top"):
                recs.append({"claim": f"{r} {key} retrieval among held-out dev paraphrase "
                             "groups", "value": round(v, 4), "unit": "hit rate",
                             "data": "shared/data/similarity (dev parts, positive pairs)",
                             "split": "dev", "table": "gru", "recipe": r, "metric": key,
                             "notes": size})
            else:
                part = "all pairs" if args.dev_limit >= 100_000 else f"first {args.dev_limit} pairs"
                recs.append({"claim": f"{r} Spearman x100 on {key} dev ({part})",
                             "value": round(v, 2), "dev_limit": args.dev_limit,
                             "unit": "Spearman x100", "data": f"shared/data/similarity ({key} "
                             f"dev part)", "split": "dev", "table": "supervised", "recipe": r,
                             "task": key, "notes": size})
        for rec in recs:
            rec["article"] = art
            key = rec.get("task") or rec.get("metric") or "sohu_f1"
            if key in art_values:
                rec["article_value"] = art_values[key]
                rec["notes"] += f"; article value: {art_note}"
        import fcntl

        with open(f"{args.record}.lock", "a") as lock:  # several runs may finish together
            fcntl.flock(lock, fcntl.LOCK_EX)
            write_records(args.record, recs, cmd, commit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
