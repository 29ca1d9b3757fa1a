"""Sentence-encoding and search speed on CPU (issue 18).

1. Sentences/s of ``kexue.similarity.SentenceEncoder`` (P3 mean pooling, length-bucketed
   batches) vs transformers' ``AutoModel`` with the usual masked mean pooling over batches in
   input order, both on the shipped kexue-mini-zh (same weights, float32, same tokens), with
   the largest difference between the two sides' vectors as a check. The sentences are the
   first ``--n`` distinct sentences of the LCQMC dev part.
2. Latency of an exact top-10 search (:func:`kexue.similarity.search.topk_cosine`) of a batch
   of queries in ``--corpus`` random 256-dimensional vectors, vs a NumPy brute force
   (``argpartition`` of the full score matrix), and vs faiss's HNSW graph index
   (:class:`kexue.similarity.search.HNSWIndex`, when faiss is installed: its build time, query
   latency and recall@10 against the exact answer; random Gaussian vectors are the hard case
   for a graph index, real sentence vectors cluster).

    python benchmarks/similarity.py [--n 2000] [--batch-size 64] [--corpus 100000]
        [--threads 1] [--record results/similarity.jsonl]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _hf_encode(model, tok_ids: list[list[int]], batch_size: int) -> np.ndarray:
    out = []
    with torch.inference_mode():
        for i in range(0, len(tok_ids), batch_size):
            chunk = tok_ids[i:i + batch_size]
            n = max(map(len, chunk))
            ids = torch.tensor([x + [0] * (n - len(x)) for x in chunk])
            mask = (ids != 0).long()
            h = model(input_ids=ids, attention_mask=mask,
                      token_type_ids=torch.zeros_like(ids)).last_hidden_state
            m = mask.unsqueeze(-1).to(h.dtype)
            out.append(((h * m).sum(1) / m.sum(1)).numpy())
    return np.concatenate(out)


def main() -> int:
    from transformers import AutoModel

    import kexue
    from kexue.recipes.records import git_commit, write_records
    from kexue.similarity.data import task_split
    from kexue.similarity.encoder import SentenceEncoder
    from kexue.similarity.evaluate import unique_sentences
    from kexue.similarity.search import topk_cosine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--corpus", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--record", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    commit = git_commit()
    path = kexue.assets.path("kexue-mini-zh")
    enc = SentenceEncoder.from_pretrained(path, "P3", family=kexue.assets.family(
        "kexue-mini-zh"), maxlen=64)
    hf = AutoModel.from_pretrained(path, torch_dtype=torch.float32).eval()
    texts = unique_sentences(task_split("LCQMC", "dev"), args.n)
    ids = enc.tokenize(texts)

    t_k, t_h = [], []
    for _ in range(args.repeats):  # alternate the two sides
        t0 = time.perf_counter()
        vk = enc.encode(texts, args.batch_size)
        t_k.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        vh = _hf_encode(hf, ids, args.batch_size)
        t_h.append(time.perf_counter() - t0)
    diff = float(np.abs(vk - vh).max())
    sk, sh = len(texts) / statistics.median(t_k), len(texts) / statistics.median(t_h)
    print(f"| encoder | sentences/s (median of {args.repeats}, {len(texts)} sentences, batch "
          f"{args.batch_size}, {args.threads} thread) |\n|---|---|")
    print(f"| kexue SentenceEncoder P3, length-bucketed | {sk:.0f} |")
    print(f"| transformers AutoModel + mean pooling, input order | {sh:.0f} |")
    print(f"\nratio {sk / sh:.2f}x; max |difference| of the vectors {diff:.2e}\n")

    g = np.random.default_rng(0)
    corpus = g.normal(size=(args.corpus, 256)).astype(np.float32)
    q = g.normal(size=(args.queries, 256)).astype(np.float32)
    t_s, t_n = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        _, idx = topk_cosine(q, corpus, 10)
        t_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        cn = corpus / np.linalg.norm(corpus, axis=1, keepdims=True)
        s = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ cn.T
        part = np.argpartition(-s, 10, axis=1)[:, :10]
        ref = np.take_along_axis(part, np.argsort(-np.take_along_axis(s, part, 1), 1), 1)
        t_n.append(time.perf_counter() - t0)
    same = bool((idx == ref).all())
    ms, mn = 1000 * statistics.median(t_s), 1000 * statistics.median(t_n)
    print(f"| search ({args.queries} queries, top-10, {args.corpus:,} x 256 float32) | ms |")
    print("|---|---|")
    print(f"| kexue topk_cosine (blocked matmul + topk) | {ms:.1f} |")
    print(f"| NumPy brute force (full matrix + argpartition) | {mn:.1f} |")
    hnsw = None
    try:
        from kexue.similarity.search import HNSWIndex

        t0 = time.perf_counter()
        index = HNSWIndex(corpus)
        build = time.perf_counter() - t0
        t_h = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            _, hidx = index.search(q, 10)
            t_h.append(time.perf_counter() - t0)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(hidx, idx)]))
        hnsw = (1000 * statistics.median(t_h), build, recall)
        print(f"| faiss HNSW (M 32, efSearch 128; built in {build:.1f} s) | {hnsw[0]:.1f} |")
    except ImportError:
        print("| faiss HNSW | not installed (pip install 'kexue[ann]') |")
    print(f"\nsame neighbours: {same}" + (f"; HNSW recall@10 {hnsw[2]:.3f}" if hnsw else ""))
    if args.record:
        cmd = "python benchmarks/similarity.py" + "".join(
            f" {a}" for a in sys.argv[1:])
        note = (f"kexue-mini-zh, {len(texts)} LCQMC dev sentences, batch {args.batch_size}, "
                f"{args.threads} thread(s), median of {args.repeats}; shared machine")
        write_records(args.record, [
            {"claim": "sentence encoding speed, kexue SentenceEncoder P3 over transformers "
                      "AutoModel + mean pooling", "value": round(sk / sh, 2), "unit": "ratio",
             "data": "shared/data/similarity (LCQMC dev part)", "notes":
                 note + f"; {sk:.0f} vs {sh:.0f} sentences/s; max |diff| {diff:.1e}"},
            {"claim": f"exact top-10 search latency, {args.queries} queries in "
                      f"{args.corpus:,} vectors", "value": round(ms, 1), "unit": "ms",
             "data": "random float32 vectors, dim 256", "notes":
                 f"NumPy brute force {mn:.1f} ms in the same run; same neighbours {same}"},
        ] + ([{"claim": f"faiss HNSW top-10 search latency, {args.queries} queries in "
                        f"{args.corpus:,} vectors", "value": round(hnsw[0], 1), "unit": "ms",
               "data": "random float32 vectors, dim 256", "notes":
                   f"exact topk_cosine {ms:.1f} ms in the same run; index built in "
                   f"{hnsw[1]:.1f} s; recall@10 against exact {hnsw[2]:.3f}"}] if hnsw else []),
            cmd, commit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
