"""The article's preprocessing on Ape210K validation (kexue.fm/archives/7809) and the fixed
splits of the maths recipe: writes the counts to ``results/mwp.jsonl``.

    python experiments/mwp_preprocess.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kexue.recipes.mwp.data import fixed_splits, read_default  # noqa: E402
from kexue.recipes.records import git_commit, write_records  # noqa: E402

DATA = "../shared/data"


def main() -> None:
    commit = git_commit()
    ape, math23k = read_default(ROOT / DATA)
    splits = fixed_splits(ape, math23k)
    mean = sum(len(p.equation) for p in ape.problems) / len(ape.problems)
    records = [
        {"claim": "preprocessing keeps 4,999 of 5,000 Ape210K validation problems",
         "article": "7809", "article_value": 4999, "value": len(ape.problems),
         "unit": "problems", "data": f"{DATA}/ape210k/valid.ape.json", "split": "valid",
         "notes": f"dropped: {ape.dropped}"},
        {"claim": "mean processed equation length (Ape210K validation, after bracket removal)",
         "value": round(mean, 2), "unit": "characters",
         "data": f"{DATA}/ape210k/valid.ape.json"},
        {"claim": "maths recipe split sizes (train / dev / held-out)",
         "value": {"train": len(splits.train), "dev": len(splits.dev),
                   "heldout": len(splits.heldout)},
         "unit": "problems", "data": f"{DATA}/ape210k + {DATA}/math23k",
         "notes": str(splits.counts)},
    ]
    for r in records:
        print(f"{r['claim']}: {r['value']}")
    write_records(ROOT / "results" / "mwp.jsonl", records, "python experiments/mwp_preprocess.py",
                  commit)


if __name__ == "__main__":
    main()
