"""The article's two-phase shuffle (kexue.fm/archives/8662), re-implemented for the benchmark only.

NOT a uniform shuffle (the article says so; tests/data/test_shuffle.py shows it). Algorithm as
described in the article (spec notes section 1.1/1.3):

1. "local shuffling": cut the corpus, in input order, into batches of ``batch_size`` lines; shuffle
   each batch in memory (``np.random.shuffle``) and write it to its own temporary file.
2. "global shuffling": open every temporary file; for ``i`` in ``range(batch_size)``, visit the
   files in a fresh random order (``np.random.permutation``) and copy one line (``readline``) of
   each to the output, skipping files that have run out.

Same memory budget as ``kexue shuffle``: ``batch_size`` is the number of lines (of the corpus's
mean length, plus Python's per-line overhead) that fit in the budget. The original runs phase 1
with bert4keras ``parallel_apply`` (5 workers, queue of 10 batches); with one batch allowed in
memory this is one process. Temporary files are removed at the end (the original keeps them).

    python benchmarks/shuffle/article_method.py IN OUT --memory 128M --seed 0
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def article_shuffle(src: str, dst: str, budget: int, seed: int, tmpdir: str | None) -> int:
    np.random.seed(seed)
    size = os.path.getsize(src)
    with open(src, "rb") as f:
        sample = f.read(1 << 20)
    mean = len(sample) / max(1, sample.count(b"\n"))
    batch_size = max(1, int(budget / (mean + 80)))
    work = tempfile.mkdtemp(prefix="article-shuffle-", dir=tmpdir)
    names = []
    try:
        # phase 1: local shuffling of consecutive batches
        with open(src, "rb") as f:
            while True:
                batch = []
                for line in f:
                    batch.append(line)
                    if len(batch) == batch_size:
                        break
                if not batch:
                    break
                np.random.shuffle(batch)
                name = os.path.join(work, f"{len(names):05d}")
                with open(name, "wb") as g:
                    g.writelines(batch)
                names.append(name)
                del batch
        # phase 2: global shuffling, one line of every file per round
        opens = [open(name, "rb") for name in names]
        with open(dst, "wb") as out:
            for _ in range(batch_size):
                for j in np.random.permutation(len(opens)):
                    line = opens[j].readline()
                    if line:
                        out.write(line)
        for g in opens:
            g.close()
    finally:
        for name in names:
            os.remove(name)
        os.rmdir(work)
    assert os.path.getsize(dst) == size
    return len(names)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--memory", default="128M")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tmpdir", default=None)
    args = p.parse_args()
    sys.path.insert(0, str(REPO))
    from kexue.data.sizes import parse_size

    article_shuffle(args.src, args.dst, parse_size(args.memory), args.seed, args.tmpdir)


if __name__ == "__main__":
    main()
