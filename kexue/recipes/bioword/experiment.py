"""The BioWord comparison end to end: corpus slice → BioHash, FlyHash, SimHash, dense vectors
→ word similarity (Spearman) and analogy (3CosAdd) on the Chinese sets."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from kexue.recipes.bioword import baselines, evaluate
from kexue.recipes.bioword.biohash import BioHash
from kexue.recipes.bioword.corpus import build_corpus, read_corpus_lines, windows

__all__ = ["SIMILARITY_SETS", "ANALOGY_SETS", "Settings", "run"]

#: the simplified-script sets of ``../shared/data/wordsim`` (file name → short name)
SIMILARITY_SETS = {"wordsim-240.txt": "wordsim-240", "wordsim-297.txt": "wordsim-297",
                   "COS960_all.txt": "COS960"}
ANALOGY_SETS = {"CA8/morphological.txt": "CA8-morph", "CA8/semantic.txt": "CA8-sem"}


@dataclass
class Settings:
    corpus: Sequence[str]
    wordsim_dir: str
    max_lines: int = 20_000
    vocab_size: int = 10_000
    min_count: int = 3
    window: int = 11
    hidden: int = 400
    k: int = 50
    epochs: int = 4
    lr: float = 0.1
    batch_size: int = 10_000
    dense_dim: int = 100
    sgns_epochs: int = 3
    sgns_lr: float = 0.01
    seed: int = 0
    log: Callable[[str], None] = field(default=print)


def _check_sets(folder: str) -> None:
    missing = [f for f in (*SIMILARITY_SETS, *ANALOGY_SETS) if not (Path(folder) / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: missing evaluation file(s) {', '.join(missing)} "
                                "(expected the layout of ../shared/data/wordsim)")


def run(s: Settings) -> dict:
    """Train everything and evaluate; returns a JSON-ready summary."""
    for p in s.corpus:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"corpus file not found: {p}")
    _check_sets(s.wordsim_dir)
    sims = {name: evaluate.read_similarity(Path(s.wordsim_dir) / f)
            for f, name in SIMILARITY_SETS.items()}
    analogies = {name: evaluate.read_analogy(Path(s.wordsim_dir) / f)
                 for f, name in ANALOGY_SETS.items()}
    t0 = time.time()
    lines = read_corpus_lines(s.corpus, s.max_lines)
    if not lines:
        raise ValueError("the corpus has no non-empty line")
    corpus = build_corpus(lines, s.vocab_size, s.min_count)
    centre, context = windows(corpus.chunks, s.window)
    V = len(corpus.words)
    s.log(f"corpus: {len(lines)} lines, {sum(map(len, lines))} characters, {corpus.tokens} "
          f"words, vocabulary {V}, {len(centre)} windows ({time.time() - t0:.0f} s)")

    t0 = time.time()
    bh = BioHash(corpus.counts, hidden=s.hidden, seed=s.seed)
    energies: list[float] = []
    probe = np.random.default_rng(s.seed).choice(len(centre), min(20_000, len(centre)),
                                                 replace=False)
    probe_idx = bh.inputs(centre[probe], context[probe])

    def on_epoch(epoch: int) -> None:
        energies.append(bh.energy(probe_idx) / len(probe))
        s.log(f"  BioHash epoch {epoch + 1}/{s.epochs}: energy/window {energies[-1]:.4g}, "
              f"median |W| {float(bh.norms().median()):.4f} ({time.time() - t0:.0f} s)")

    bh.train(centre, context, epochs=s.epochs, lr=s.lr, batch_size=s.batch_size, seed=s.seed,
             callback=on_epoch)
    wins = torch.bincount(bh.activations(probe_idx).argmax(1), minlength=s.hidden)
    won = wins > 0
    norms = bh.norms()

    t0 = time.time()
    cooc = baselines.cooccurrence(centre, context, V)
    pp = baselines.ppmi(cooc)
    svd = baselines.svd_vectors(pp, s.dense_dim, seed=s.seed)
    s.log(f"PPMI-SVD: {pp.nnz} positive entries, dim {s.dense_dim} ({time.time() - t0:.0f} s)")
    t0 = time.time()
    sgns = baselines.train_sgns(centre, context, corpus.counts, dim=s.dense_dim,
                                epochs=s.sgns_epochs, lr=s.sgns_lr, seed=s.seed)
    s.log(f"SGNS: dim {s.dense_dim}, {s.sgns_epochs} epochs ({time.time() - t0:.0f} s)")

    ids = np.arange(V)
    static = bh.static_hash(ids, s.k)
    sample = np.random.default_rng(s.seed + 1).choice(len(centre), min(10_000, len(centre)),
                                                      replace=False)
    ctx_hash = bh.context_hash(centre[sample], context[sample], s.k)
    ones = {"static": sorted({int(x) for x in static.sum(1)}),
            "context": sorted({int(x) for x in ctx_hash.sum(1)})}
    ctx_vs_static = float(evaluate.jaccard(ctx_hash, static[centre[sample]]).mean())
    rand_pairs = np.random.default_rng(s.seed + 2).integers(0, V, (10_000, 2))
    static_random = float(evaluate.jaccard(static[rand_pairs[:, 0]],
                                           static[rand_pairs[:, 1]]).mean())

    methods = {
        "SGNS (dense)": (sgns, evaluate.cosine, "cosine", f"{s.dense_dim} floats"),
        "PPMI-SVD (dense)": (svd, evaluate.cosine, "cosine", f"{s.dense_dim} floats"),
        "BioWord static": (static, evaluate.jaccard, "Jaccard", f"{s.hidden} bits, {s.k} on"),
        "FlyHash of PPMI rows": (baselines.flyhash(pp, s.hidden, s.k, seed=s.seed),
                                 evaluate.jaccard, "Jaccard", f"{s.hidden} bits, {s.k} on"),
        "SimHash of SGNS": (baselines.simhash(sgns, s.hidden, seed=s.seed), evaluate.hamming,
                            "Hamming", f"{s.hidden} bits"),
        "SimHash of PPMI-SVD": (baselines.simhash(svd, s.hidden, seed=s.seed),
                                evaluate.hamming, "Hamming", f"{s.hidden} bits"),
    }
    index = corpus.index
    table = {}
    for name, (vec, fn, simname, size) in methods.items():
        row = {"similarity": simname, "size": size}
        for set_name, pairs in sims.items():
            r = evaluate.evaluate_similarity(pairs, index, vec, fn)
            row[set_name] = {"rho": r.rho, "used": r.used, "total": r.total}
        for set_name, qs in analogies.items():
            acc, used, total = evaluate.analogy_accuracy(qs, index, np.asarray(vec))
            row[set_name] = {"accuracy": acc, "used": used, "total": total}
        table[name] = row
    return {
        "corpus": {"lines": len(lines), "characters": sum(map(len, lines)),
                   "words": corpus.tokens, "vocabulary": V, "windows": int(len(centre))},
        "biohash": {"energy_per_epoch": energies, "cells_winning": int(won.sum()),
                    "norm_of_winners": {"min": float(norms[won].min()),
                                        "max": float(norms[won].max())},
                    "ones_per_hash": ones, "context_vs_static_jaccard": ctx_vs_static,
                    "random_static_pair_jaccard": static_random},
        "table": table,
    }
