"""Unsupervised sentence similarity of a kexue model: P1–P4 × {no whitening, whitening,
whitening-k} Spearman ×100 on the five senteval_cn dev parts (kexue.fm/archives/8321, 8454),
plus the Sohu 2021 ``labelA`` F1 of each pooling (threshold from the LCQMC train part).

    python experiments/similarity_unsupervised.py [--model DIR] [--record results/similarity.jsonl]

Encoding only (no training): about 20k dev sentences and up to 5,000 train sentences per task
(the whitening fit) through the model once.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import torch

    import kexue
    from kexue.recipes.records import git_commit, write_records
    from kexue.similarity.data import TASKS, default_root, read_sohu, task_split
    from kexue.similarity.encoder import SentenceEncoder
    from kexue.similarity.evaluate import sohu_f1, unsupervised_table
    from kexue.similarity.metrics import format_table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model directory (default kexue-mini-zh)")
    ap.add_argument("--whiten-dim", type=int, default=64)
    ap.add_argument("--fit-limit", type=int, default=5000)
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
    lcqmc = task_split("LCQMC", "train")
    f1 = {}
    for p in table:
        enc.pooling = p
        f1[p] = sohu_f1(lambda s: enc.encode(s), sohu, lcqmc)
        print(f"Sohu labelA F1 {p}: {f1[p]['f1']:.4f} (threshold {f1[p]['threshold']:.4f})")
    print(f"({time.time() - t0:.0f} s)")
    if args.record:
        cmd = "python experiments/similarity_unsupervised.py" + (
            f" --model {args.model}" if args.model else "") + f" --record {args.record}"
        recs = []
        for p, row in table.items():
            for task, cells in row.items():
                for label, v in zip(("none", "whitening", f"whitening-{args.whiten_dim}"),
                                    cells, strict=True):
                    recs.append({"claim": f"unsupervised {name} {p} {label} Spearman x100 on "
                                          f"{task} dev", "value": round(v, 2), "unit":
                                 "Spearman x100", "data": f"shared/data/similarity ({task} dev "
                                 f"part)", "split": "dev", "table": "unsupervised",
                                 "model": name, "pooling": p, "whitening": label, "task": task})
            recs.append({"claim": f"unsupervised {name} {p} Sohu labelA F1", "value":
                         round(f1[p]["f1"], 4), "unit": "F1", "data":
                         "shared/data/sohu2021/samples.txt", "split": "all", "table": "sohu",
                         "model": name, "pooling": p, "notes": "cosine threshold "
                         f"{f1[p]['threshold']:.4f} maximising F1 on the LCQMC train part"})
        write_records(args.record, recs, cmd, commit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
