"""BioWord / FlyVec binary word vectors (8159) vs. FlyHash, SimHash and dense vectors.

Usage:

    kexue bioword --corpus ../shared/data/pretrain_zh/train-000.txt.gz
                  --wordsim-dir ../shared/data/wordsim [--max-lines 20000] [--vocab 10000]
                  [--hidden 400] [--k 50] [--epochs 4] [--img-dir docs/img]
                  [--record results/recipes_classic_b.jsonl] [--json SUMMARY.json]

Segments the first ``--max-lines`` lines of the corpus (plain or compressed) with jieba, trains
BioHash (the paper's winner-only rule) on 11-word windows, hashes every word to ``--hidden``
bits with exactly ``--k`` ones (static vectors) and a sample of windows (context vectors), and
builds the baselines on the same slice: skip-gram (SGNS) and PPMI-SVD dense vectors, FlyHash of
the PPMI rows and SimHash of the dense vectors at the same number of bits. Prints Spearman's ρ on
wordsim-240/297 and COS960 and 3CosAdd accuracy on CA8 (``--wordsim-dir``: the layout of
../shared/data/wordsim). ``--img-dir`` writes ``bioword_spearman.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from kexue.cli._recipes import check_outputs, command_line, positive_float, positive_int, run_recipe


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kexue bioword", description=__doc__.splitlines()[0])
    p.add_argument("--corpus", nargs="+", required=True, help="UTF-8 line files (.gz etc. ok)")
    p.add_argument("--wordsim-dir", required=True, help="folder with the evaluation sets")
    p.add_argument("--max-lines", type=positive_int, default=20_000)
    p.add_argument("--vocab", type=positive_int, default=10_000, help="vocabulary size")
    p.add_argument("--min-count", type=positive_int, default=3)
    p.add_argument("--hidden", type=positive_int, default=400, help="K: cells = hash bits")
    p.add_argument("--k", type=positive_int, default=50, help="active units per hash")
    p.add_argument("--epochs", type=positive_int, default=4, help="BioHash epochs (4)")
    p.add_argument("--lr", type=positive_float, default=0.1,
                   help="BioHash rate (0.1; the official 0.002 is for a corpus 1000x larger)")
    p.add_argument("--sgns-epochs", type=positive_int, default=3)
    p.add_argument("--sgns-lr", type=positive_float, default=0.01, help="SparseAdam rate")
    p.add_argument("--dense-dim", type=positive_int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--img-dir", default=None, help="folder for the PNG figure")
    p.add_argument("--json", default=None, help="write the summary as JSON here")
    p.add_argument("--record", default=None, help="append result records to this JSON-lines file")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    return run_recipe("bioword", lambda: _run(args, argv))


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    from pathlib import Path

    import torch

    from kexue.cli._exitcodes import check_input_file
    from kexue.io.atomic import write_text
    from kexue.recipes.digits import require_sklearn
    from kexue.recipes.records import git_commit, write_records

    if args.k > args.hidden:
        raise ValueError(f"--k ({args.k}) must not exceed --hidden ({args.hidden})")
    for path in args.corpus:
        try:
            check_input_file(path, "corpus file")
        except ValueError as err:
            raise FileNotFoundError(str(err)) from None
    if not Path(args.wordsim_dir).is_dir():
        raise FileNotFoundError(f"--wordsim-dir is not a folder: {args.wordsim_dir}")
    check_outputs(args.img_dir, [args.json, args.record])
    require_sklearn()
    if args.img_dir is not None:
        from kexue.recipes.figures import pyplot

        pyplot()
    commit = git_commit()
    torch.set_num_threads(1)
    from kexue.recipes.bioword.experiment import Settings, run

    s = Settings(corpus=args.corpus, wordsim_dir=args.wordsim_dir, max_lines=args.max_lines,
                 vocab_size=args.vocab, min_count=args.min_count, hidden=args.hidden, k=args.k,
                 epochs=args.epochs, lr=args.lr, dense_dim=args.dense_dim,
                 sgns_epochs=args.sgns_epochs, sgns_lr=args.sgns_lr, seed=args.seed,
                 log=lambda m: print(m, file=sys.stderr, flush=True))
    summary = run(s)
    _print(summary)
    if args.img_dir is not None:
        _figure(args.img_dir, summary)
    if args.json is not None:
        write_text(args.json, json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    if args.record is not None:
        write_records(args.record, _records(summary, args), command_line("bioword", argv),
                      commit)
    return 0


def _sets(summary: dict) -> tuple[list[str], list[str]]:
    from kexue.recipes.bioword.experiment import ANALOGY_SETS, SIMILARITY_SETS

    return list(SIMILARITY_SETS.values()), list(ANALOGY_SETS.values())


def _print(summary: dict) -> None:
    sim_sets, ana_sets = _sets(summary)
    b = summary["biohash"]
    print(f"BioHash: {b['cells_winning']} cells win; their |W| in "
          f"[{b['norm_of_winners']['min']:.4f}, {b['norm_of_winners']['max']:.4f}]; ones per "
          f"hash: static {b['ones_per_hash']['static']}, context {b['ones_per_hash']['context']};"
          f" Jaccard(context, static) {b['context_vs_static_jaccard']:.3f} vs random pairs "
          f"{b['random_static_pair_jaccard']:.3f}")
    first = next(iter(summary["table"].values()))
    head = "".join(f"{n:>13}" for n in sim_sets + ana_sets)
    used = "".join(f"{'n=' + str(first[n]['used']):>13}" for n in sim_sets + ana_sets)
    print(f"{'method':<24}{'similarity':<10}{head}\n{'':<34}{used}")
    for name, row in summary["table"].items():
        cells = [row[n]["rho"] for n in sim_sets] + [row[n]["accuracy"] for n in ana_sets]
        print(f"{name:<24}{row['similarity']:<10}"
              + "".join(f"{c:>13.3f}" for c in cells))


def _figure(img_dir: str, summary: dict) -> None:
    from pathlib import Path

    import numpy as np

    from kexue.recipes.figures import pyplot, save_png

    sim_sets, _ = _sets(summary)
    plt = pyplot()
    names = list(summary["table"])
    fig, ax = plt.subplots(figsize=(7, 3))
    width = 0.8 / len(names)
    x = np.arange(len(sim_sets))
    for i, n in enumerate(names):
        vals = [summary["table"][n][s]["rho"] for s in sim_sets]
        ax.bar(x + i * width, [0 if math.isnan(v) else v for v in vals], width, label=n)
    ax.set_xticks(x + 0.4 - width / 2)
    first = summary["table"][names[0]]
    ax.set_xticklabels([f"{s} (n={first[s]['used']})" for s in sim_sets])
    ax.axhline(0, color="black", lw=0.6)
    ax.set(ylabel="Spearman ρ", title="word similarity: binary vs. dense vectors")
    ax.legend(fontsize=6, ncol=2)
    save_png(fig, Path(img_dir) / "bioword_spearman.png")


def _records(summary: dict, args: argparse.Namespace) -> list[dict]:
    sim_sets, ana_sets = _sets(summary)
    c = summary["corpus"]
    data = (f"shared/data/pretrain_zh ({', '.join(_file_name(p) for p in args.corpus)}, first "
            f"{c['lines']} lines, {c['words']} jieba words, vocabulary {c['vocabulary']}); "
            "shared/data/wordsim")
    recs = []
    for name, row in summary["table"].items():
        for s in sim_sets:
            r = row[s]
            recs.append({"claim": f"BioWord comparison: {name}, {row['size']}, {row['similarity']}"
                                  f" similarity: Spearman rho on {s}",
                         "article": "8159", "value": _round(r["rho"]), "unit": "Spearman rho",
                         "data": data, "split": f"{s}, {r['used']} of {r['total']} pairs in "
                                                "vocabulary",
                         "notes": f"K = {args.hidden}, k = {args.k}, BioHash {args.epochs} epochs,"
                                  f" seed {args.seed}"})
        for s in ana_sets:
            r = row[s]
            recs.append({"claim": f"BioWord comparison: {name}: 3CosAdd accuracy on {s}",
                         "article": "8159", "value": _round(r["accuracy"]), "unit": "accuracy",
                         "data": data, "split": f"{s}, {r['used']} of {r['total']} questions in "
                                                "vocabulary (others skipped)"})
    b = summary["biohash"]
    recs.append({"claim": "BioHash: norm of the weights of the cells that win (range)",
                 "article": "8159", "value": {"point": _round(b["norm_of_winners"]["max"]),
                                              "low": _round(b["norm_of_winners"]["min"]),
                                              "high": _round(b["norm_of_winners"]["max"])},
                 "unit": "|W_mu| (fixed point 1)", "data": data,
                 "notes": f"{b['cells_winning']} of {args.hidden} cells win on 20,000 windows"})
    recs.append({"claim": "BioWord: mean Jaccard of a word's context hash and its static hash",
                 "article": "8159", "value": _round(b["context_vs_static_jaccard"]),
                 "unit": "Jaccard", "data": data,
                 "notes": f"random word pairs' static hashes: "
                          f"{b['random_static_pair_jaccard']:.3f}; 10,000 windows"})
    return recs


def _file_name(p: str) -> str:
    from pathlib import Path

    return Path(p).name


def _round(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 4)
