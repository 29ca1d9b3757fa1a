"""Unsupervised sentence similarity of a kexue model: P1–P4 × {no whitening, whitening,
whitening-k} Spearman ×100 on the five senteval_cn dev parts (kexue.fm/archives/8321, 8454),
plus the Sohu 2021 ``labelA`` F1 of each pooling (threshold from the LCQMC train part).

    python experiments/similarity_unsupervised.py [--model DIR] [--record results/similarity.jsonl]

Encoding only: about 20k dev sentences and 2,000 train sentences per task (the whitening fit)
through the model once, every pooling from the same pass.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: kexue.fm/archives/8321, Google's Chinese BERT base, test splits: (no whitening, whitening,
#: whitening-256) per pooling and task
ARTICLE_BERT_BASE = {
    "P1": {"ATEC": (16.59, 20.61, 25.58), "BQ": (29.35, 25.76, 34.66),
           "LCQMC": (41.71, 48.92, 49.18), "PAWSX": (15.15, 17.03, 15.98),
           "STS-B": (34.65, 61.19, 60.07)},
    "P2": {"ATEC": (9.46, 22.16, 25.13), "BQ": (16.97, 18.97, 33.99),
           "LCQMC": (28.42, 49.61, 49.59), "PAWSX": (13.93, 16.08, 16.19),
           "STS-B": (21.66, 60.75, 60.13)},
    "P3": {"ATEC": (20.79, 18.27, 28.98), "BQ": (33.08, 22.58, 38.62),
           "LCQMC": (59.22, 60.12, 62.00), "PAWSX": (16.68, 18.37, 17.38),
           "STS-B": (57.48, 63.97, 68.27)},
    "P4": {"ATEC": (24.51, 27.00, 27.91), "BQ": (38.81, 32.29, 37.67),
           "LCQMC": (64.75, 64.75, 65.65), "PAWSX": (15.12, 17.80, 15.34),
           "STS-B": (61.66, 69.45, 69.37)},
}


def main() -> int:
    import numpy as np
    import torch

    import kexue
    from kexue.recipes.records import git_commit, write_records
    from kexue.similarity.data import TASKS, default_root, read_sohu, task_split
    from kexue.similarity.encoder import SentenceEncoder
    from kexue.similarity.evaluate import sohu_f1, unique_sentences, unsupervised_table
    from kexue.similarity.metrics import format_table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model directory (default kexue-mini-zh)")
    ap.add_argument("--whiten-dim", type=int, default=64,
                    help="components of whitening-k (64 of 256; 8321 keeps 256 of 768)")
    ap.add_argument("--fit-limit", type=int, default=2000,
                    help="train-part sentences per task the whitening is fitted on")
    ap.add_argument("--threshold-pairs", type=int, default=1000,
                    help="LCQMC train pairs the Sohu cosine threshold is chosen on")
    ap.add_argument("--maxlen", type=int, default=64)
    ap.add_argument("--record", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    commit = git_commit()
    name = args.model or "kexue-mini-zh"
    path = Path(args.model) if args.model else kexue.assets.path("kexue-mini-zh")
    family = None if args.model else kexue.assets.family("kexue-mini-zh")
    enc = SentenceEncoder.from_pretrained(path, "P1", family=family, maxlen=args.maxlen)
    t0 = time.time()
    table = unsupervised_table(enc, whiten_dim=args.whiten_dim, fit_limit=args.fit_limit,
                               log=lambda s: print(s, flush=True))
    rows = {f"{name}-{p}": table[p] for p in table}
    print(f"\nSpearman x100, dev parts; cell = no whitening / whitening / whitening-"
          f"{args.whiten_dim}\n")
    print(format_table(rows, TASKS))
    sohu = read_sohu(default_root() / "sohu2021" / "samples.txt")
    lcqmc = task_split("LCQMC", "train")[:args.threshold_pairs]
    sents = unique_sentences(list(sohu) + lcqmc)
    vecs = enc.encode_many(sents, tuple(table), 64)  # every pooling in one pass
    f1 = {}
    for p in table:
        lookup = dict(zip(sents, vecs[p], strict=True))
        f1[p] = sohu_f1(lambda s, lk=lookup: np.stack([lk[x] for x in s]), sohu, lcqmc)
        print(f"Sohu labelA F1 {p}: {f1[p]['f1']:.4f} (threshold {f1[p]['threshold']:.4f})")
    print(f"({time.time() - t0:.0f} s)")
    if args.record:
        cmd = "python experiments/similarity_unsupervised.py" + (
            f" --model {args.model}" if args.model else "") + f" --record {args.record}"
        recs = []
        for p, row in table.items():
            for task, cells in row.items():
                for j, (label, v) in enumerate(zip(
                        ("none", "whitening", f"whitening-{args.whiten_dim}"), cells,
                        strict=True)):
                    recs.append({"article": "8321",
                                 "article_value": ARTICLE_BERT_BASE[p][task][j],
                                 "claim": f"unsupervised {name} {p} {label} Spearman x100 on "
                                          f"{task} dev", "value": round(v, 2), "unit":
                                 "Spearman x100", "data": f"shared/data/similarity ({task} dev "
                                 f"part)", "split": "dev", "table": "unsupervised",
                                 "model": name, "pooling": p, "whitening": label, "task": task,
                                 "notes": "article value: Google Chinese BERT base on the "
                                          "test split, whitening-256"})
            recs.append({"claim": f"unsupervised {name} {p} Sohu labelA F1", "article": "8337",
                         "value":
                         round(f1[p]["f1"], 4), "unit": "F1", "data":
                         "shared/data/sohu2021/samples.txt", "split": "all", "table": "sohu",
                         "model": name, "pooling": p, "notes": "cosine threshold "
                         f"{f1[p]['threshold']:.4f} maximising F1 on the first "
                         f"{args.threshold_pairs} LCQMC train pairs"})
        import fcntl

        with open(f"{args.record}.lock", "a") as lock:  # several runs may finish together
            fcntl.flock(lock, fcntl.LOCK_EX)
            write_records(args.record, recs, cmd, commit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
