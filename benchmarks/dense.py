"""Few-row dense products on CPU: ``F.linear`` vs ``kexue.layers.linear`` (row-block bmm).

For each GPT-2-small weight shape (fused QKV 768->2304, FFN 768->3072 and 3072->768, the
vocabulary 768->50257) and each number of input rows, times one product through each of
``--mats`` different weight matrices (so the weights stream from memory as in a real model,
instead of sitting in cache), median of ``--repeats`` rounds, the two paths alternated. The
blocked path is forced on for every row count here (it normally runs up to
``kexue.layers.dense.MAX_BLOCKED_ROWS``) to show where it stops paying.

    python benchmarks/dense.py
    python benchmarks/dense.py --rows 1,4 --mats 2 --repeats 3     # smoke run
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kexue.layers import dense  # noqa: E402

SHAPES = [(768, 2304), (768, 3072), (3072, 768), (768, 50257)]


def per_product_ms(fn, x, weights, bias) -> float:
    t0 = time.perf_counter()
    for w in weights:
        fn(x, w, bias)
    return (time.perf_counter() - t0) / len(weights) * 1e3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1,4,16,64,256,1024")
    ap.add_argument("--mats", type=int, default=12, help="matrices per shape (vocabulary: 4)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    rows_list = [int(r) for r in args.rows.split(",")]
    default_rows = dense.MAX_BLOCKED_ROWS
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, "
        f"median of {args.repeats}; ms per product (in -> out, rows)\n"
    )
    print("| in -> out | rows | F.linear ms | kexue blocked ms | speed-up |")
    print("|---|---|---|---|---|")
    gen = torch.Generator().manual_seed(0)
    try:
        dense.MAX_BLOCKED_ROWS = max(rows_list)
        for n_in, n_out in SHAPES:
            mats = min(args.mats, 4) if n_out > 10000 else args.mats
            weights = [torch.randn(n_out, n_in, generator=gen) for _ in range(mats)]
            bias = torch.randn(n_out, generator=gen)
            for rows in rows_list:
                x = torch.randn(rows, n_in, generator=gen)
                torch.testing.assert_close(
                    dense.linear(x, weights[0], bias), F.linear(x, weights[0], bias),
                    rtol=1e-4, atol=1e-3,
                )  # fmt: skip
                plain, blocked = [], []
                for rep in range(args.repeats):
                    pair = [(plain, F.linear), (blocked, dense.linear)]
                    for out, fn in pair if rep % 2 == 0 else pair[::-1]:
                        out.append(per_product_ms(fn, x, weights, bias))
                a, b = statistics.median(plain), statistics.median(blocked)
                print(f"| {n_in} -> {n_out} | {rows} | {a:.3f} | {b:.3f} | {a / b:.2f}x |",
                      flush=True)  # fmt: skip
    finally:
        dense.MAX_BLOCKED_ROWS = default_rows
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
