"""SPACES extraction on the 20 public CAIL 2020 documents: oracle score and k-fold
cross-predicted score (kexue.fm/archives/8046, stages 1-2).

Sentences: the document's clauses (split at \\n。；：，), last 256 kept. Labels: the recursive
matcher. Sentence vectors: kexue-mini-zh, masked mean pooling, frozen. Extractor: six rezero
gated dilated conv blocks, Adam 1e-3, 20 epochs, 5-fold cross-prediction (the article: 15 folds
on 4,047 documents). Scores: 0.2·R1 + 0.4·R2 + 0.4·RL F on jieba words of the extracted
clauses against the reference summary, mean over the 20 documents.

    python experiments/spaces_extractor.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

import kexue.assets
from kexue.io.atomic import atomic_write
from kexue.models import build_transformer_model
from kexue.recipes.bootstrap import bootstrap_interval
from kexue.recipes.records import git_commit, write_records
from kexue.recipes.spaces.data import load_cail
from kexue.recipes.spaces.extractor import cross_predict, sentence_vectors
from kexue.recipes.spaces.matching import extraction_labels, split_sentences
from kexue.text import Tokenizer
from kexue.text.rouge import weighted_rouge

DATA = Path("/work/shared/data/summarization/cail2020_sfzy_20.json")
REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=384, help="extractor width (article: 384)")
    ap.add_argument("--cache", type=Path, default=None,
                    help="an .npz where the sentence vectors are kept (computed once)")
    ap.add_argument("--no-records", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    commit = git_commit(REPO)
    docs = load_cail(args.data)
    asset = kexue.assets.path("kexue-mini-zh")
    tokenizer = Tokenizer(asset / "vocab.txt", do_lower_case=True)
    encoder = build_transformer_model(checkpoint_path=asset, model=kexue.assets.family(
        "kexue-mini-zh"), strict=False)
    texts = [split_sentences(d.text, 256) for d in docs]
    labels = [extraction_labels(t, d.summary) for t, d in zip(texts, docs)]
    if args.cache is not None and args.cache.is_file():
        kept = np.load(args.cache)
        vectors = [kept[f"doc{i}"] for i in range(len(docs))]
    else:
        vectors = [sentence_vectors(encoder, tokenizer, t) for t in texts]
    if args.cache is not None and not args.cache.is_file():
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(args.cache, "wb") as f:
            np.savez(f, **{f"doc{i}": v for i, v in enumerate(vectors)})

    def score(chosen):
        return [weighted_rouge("".join(s for s, c in zip(t, ch) if c), d.summary, "word")
                for t, ch, d in zip(texts, chosen, docs)]

    oracle = score(labels)
    probs = cross_predict(vectors, labels, folds=args.folds, epochs=args.epochs,
                          hidden_size=args.hidden)
    results = {"oracle": oracle}
    for th in (0.2, 0.3):
        results[th] = score([p > th for p in probs])
    recall = np.mean([(np.asarray(p > 0.2) & np.asarray(lab, bool)).sum() / max(1, sum(lab))
                      for p, lab in zip(probs, labels)])
    n_sent = sum(len(t) for t in texts)
    print(f"{len(docs)} documents, {n_sent} clauses, {sum(map(sum, labels))} labelled 1")
    for k, v in results.items():
        print(k, bootstrap_interval(v))
    print("recall of oracle clauses at 0.2:", recall)
    if args.no_records:
        return 0
    base = {"data": "shared/data/summarization/cail2020_sfzy_20.json", "split": "all 20",
            "article": "8046",
            "unit": "0.2R1+0.4R2+0.4RL F (jieba words)"}
    note = (f"{n_sent} clauses (last 256 per document); kexue-mini-zh mean-pooled vectors; "
            f"{args.folds}-fold cross-prediction, {args.epochs} epochs, width {args.hidden}; "
            "95% bootstrap interval "
            "over the 20 documents")
    records = [
        {**base, "claim": "SPACES oracle extraction (recursive matching labels) vs the "
                          "reference summary", "value": bootstrap_interval(oracle),
         "notes": note},
        {**base, "claim": "SPACES extractor, cross-predicted, threshold 0.2",
         "value": bootstrap_interval(results[0.2]), "notes": note},
        {**base, "claim": "SPACES extractor, cross-predicted, threshold 0.3",
         "value": bootstrap_interval(results[0.3]), "notes": note},
        {**base, "claim": "SPACES extractor: share of oracle clauses recalled at threshold 0.2",
         "unit": "share", "value": float(recall), "notes": note},
    ]
    cmd = "python experiments/spaces_extractor.py" + (
        f" --hidden {args.hidden}" if args.hidden != 384 else "")
    write_records(REPO / "results" / "summarization.jsonl", records, cmd, commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
