"""Generate a line corpus for the shuffle benchmark (JSON lines of real Chinese text).

Each line is the JSON ``{"id": N, "text": "..."}``; the text joins random sentences of the
People's Daily 1998-01 and sentiment sets in ``<repo>/../shared/data``, cut to a length drawn
uniformly from [0.2, 1.8] x ``--mean-bytes`` (default 1000: the article's corpora are ~1 KB
samples a line; ``--mean-bytes 100`` makes short lines).

    python benchmarks/shuffle/make_corpus.py /tmp/corpus.jsonl --size 1G
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


def sentences() -> list[str]:
    files = [
        DATA / "peoples_daily_199801" / "seg_gold.utf8",
        DATA / "sentiment" / "sentiment.train.data",
    ]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        sys.exit(f"shared data not found: {', '.join(missing)} (expected beside the checkout)")
    out = []
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            text = line.split("\t")[0].replace(" ", "").strip()
            if text:
                out.append(text)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path")
    p.add_argument("--size", default="1G", help="total size (e.g. 1G, 200M)")
    p.add_argument("--mean-bytes", type=int, default=1000, help="mean line length in bytes")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    sys.path.insert(0, str(REPO))
    from kexue.data.sizes import parse_size

    target = parse_size(args.size)
    pool = [s.encode("utf-8") for s in sentences()]
    rng = np.random.default_rng(args.seed)
    written = 0
    line_id = 0
    with open(args.path, "wb") as f:
        while written < target:
            n = 20_000
            # line lengths spread uniformly over [0.2, 1.8] x the mean; each line's text joins
            # random sentences and is cut to its length at a UTF-8 character boundary
            lengths = (args.mean_bytes * rng.uniform(0.2, 1.8, n)).astype(int)
            picks = rng.integers(0, len(pool), n * 64)
            buf = []
            k = 0
            for length in lengths.tolist():
                want = max(3, length - 28 - len(str(line_id)))  # minus the JSON around it
                parts, size = [], 0
                while size < want:
                    parts.append(pool[picks[k % len(picks)]])
                    size += len(parts[-1])
                    k += 1
                text = b"".join(parts)[:want].decode("utf-8", "ignore")
                line = json.dumps({"id": line_id, "text": text}, ensure_ascii=False)
                buf.append(line.encode("utf-8") + b"\n")
                line_id += 1
            data = b"".join(buf)
            if written + len(data) > target:  # stop at the first line end past the target
                cut = data.index(b"\n", target - written) + 1
                line_id -= data.count(b"\n", cut)
                data = data[:cut]
            f.write(data)
            written += len(data)
    print(f"{args.path}: {written / 1e6:.0f} MB, {line_id} lines, {written / line_id:.0f} B/line")


if __name__ == "__main__":
    main()
