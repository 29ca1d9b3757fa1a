"""Perturbed-Masking word segmentation (https://kexue.fm/archives/7476) against the People's
Daily 1998-01 gold, beside the single-character baseline and ``kexue words``.

    python experiments/prompting_segment.py --model kexue-mini-zh --n 300 \\
        --cache /work/runs/issue17-prompting/segment-cache --record results/prompting.jsonl

Sentences (the fixed rule, CONVENTIONS §4): the gold lines whose text (spaces removed) has at
most 64 characters, then every k-th of them (k = their count // N, starting with the first)
so the N sentences spread over the month. ``--gold`` takes any file of the same format (one
sentence a line, words separated by spaces).

Rows: single characters; ``kexue words`` (new-word discovery with its defaults on the raw
text of the whole gold file, then unigram segmentation; transductive, as
``benchmarks/words.py``); Perturbed Masking with the data-driven threshold (Otsu's cut of
the N sentences' relatedness values, no gold used) and, as an upper bound only, the threshold
that is best against the gold (tuned on the report set). ``--cache`` keeps the relatedness
values and the lexicon, so the same command resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOLD = ROOT.parent / "shared" / "data" / "peoples_daily_199801" / "seg_gold.utf8"
if not GOLD.exists():
    GOLD = Path("/work/shared/data/peoples_daily_199801/seg_gold.utf8")


def choose(gold_lines: list[list[str]], n: int, max_chars: int = 64) -> list[list[str]]:
    ok = [g for g in gold_lines if g and len("".join(g)) <= max_chars]
    if len(ok) < n:
        raise SystemExit(f"only {len(ok)} lines of at most {max_chars} characters")
    step = len(ok) // n
    return ok[::step][:n]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="kexue-mini-zh")
    p.add_argument("--gold", default=str(GOLD))
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--cache", default=None)
    p.add_argument("--record", default=None)
    args = p.parse_args(argv)

    import torch

    import kexue
    from kexue.prompting import load_model
    from kexue.prompting.perturbed import BertSegmenter, otsu_threshold, segment
    from kexue.recipes.records import git_commit, write_records
    from kexue.text.evaluate import score_segmentation

    torch.set_num_threads(1)
    commit = git_commit(ROOT)
    model_dir = Path(args.model) if Path(args.model).is_dir() else kexue.assets.path(args.model)
    lines = [line.split() for line in Path(args.gold).read_text(encoding="utf-8").split("\n")]
    gold = choose(lines, args.n)
    texts = ["".join(g) for g in gold]
    cache = Path(args.cache) if args.cache else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)

    results = {}

    def score(name, pred):
        with_p = score_segmentation(gold, pred, punctuation=True)
        without = score_segmentation(gold, pred, punctuation=False)
        results[name] = {"f1": round(with_p.f1, 4), "f1_no_punct": round(without.f1, 4),
                         "precision": round(with_p.precision, 4),
                         "recall": round(with_p.recall, 4)}

    score("single characters", [list(t) for t in texts])

    # kexue words: discover on the raw text of the whole file, then segment
    from kexue.io.atomic import write_text
    from kexue.text.discovery import discover_words, load_lexicon, save_lexicon
    from kexue.text.segment import Segmenter

    lex_path = (cache or Path("/tmp")) / "peoples_daily_lexicon.txt"
    if not lex_path.exists():
        raw = (cache or Path("/tmp")) / "peoples_daily_raw.txt"
        write_text(raw, "".join("".join(g) + "\n" for g in lines if g))
        save_lexicon(lex_path, discover_words([raw]).lexicon)
    seg = Segmenter(load_lexicon(lex_path))
    score("kexue words", [seg.cut(t) for t in texts])

    # Perturbed Masking
    rel_path = (cache / f"relatedness-{model_dir.name}.json") if cache else None
    rel = json.loads(rel_path.read_text()) if rel_path and rel_path.exists() else {}
    model, tok = load_model(model_dir)
    bs = BertSegmenter(model, tok, maxlen=128)
    start = time.time()
    for i, t in enumerate(texts):
        if str(i) in rel:
            continue
        pieces, r = bs.relatedness(t)
        rel[str(i)] = {"pieces": pieces, "r": r.tolist()}
        if rel_path and (i % 20 == 19 or i == len(texts) - 1):
            write_text(rel_path, json.dumps(rel, ensure_ascii=False))
            print(f"{i + 1}/{len(texts)} sentences, {time.time() - start:.0f} s", flush=True)
    rows = [rel[str(i)] for i in range(len(texts))]
    values = torch.tensor([v for row in rows for v in row["r"]], dtype=torch.float64)
    auto = otsu_threshold(values)
    score(f"Perturbed Masking, {model_dir.name}, Otsu threshold {auto:.3f}",
          [segment(row["pieces"], row["r"], auto) for row in rows])
    best = None
    for q in torch.linspace(0.02, 0.98, 49).tolist():
        th = float(values.quantile(q))
        f1 = score_segmentation(gold, [segment(row["pieces"], row["r"], th) for row in rows]).f1
        if best is None or f1 > best[0]:
            best = (f1, th)
    score(f"Perturbed Masking, {model_dir.name}, gold-tuned threshold {best[1]:.3f} "
          f"(upper bound)", [segment(row["pieces"], row["r"], best[1]) for row in rows])

    # diagnostics: does r separate within-word pairs from word boundaries at all, and in which
    # direction? AUC = P(r of a within-word pair > r of a boundary pair) over all pairs
    inside, boundary = [], []
    for g, row in zip(gold, rows):
        ends, pos = set(), 0
        for w in g:
            pos += len(w)
            ends.add(pos)
        pos = 0
        for piece, value in zip(row["pieces"][:-1], row["r"]):
            pos += len(piece)
            if value == value:
                (boundary if pos in ends else inside).append(value)
    a, b = torch.tensor(inside), torch.tensor(boundary)
    auc = float(((a[:, None] > b[None, :]).double() + 0.5 * (a[:, None] == b[None, :]).double())
                .mean())
    print(f"AUC of r (within-word pairs above boundary pairs): {auc:.3f}; mean r within words "
          f"{a.mean():.3f}, at boundaries {b.mean():.3f}")

    def inverted(row, th):  # cut where r >= th: the article's rule with the direction flipped
        return segment(row["pieces"], [-v for v in row["r"]], -th)

    score(f"diagnostic: direction flipped (cut where r >= Otsu {auto:.3f})",
          [inverted(row, auto) for row in rows])
    print(f"\n{len(texts)} People's Daily sentences of <= 64 characters "
          f"({sum(map(len, texts))} characters)\n")
    print("| segmentation | F1 | F1 without punctuation | P | R |\n|---|---|---|---|---|")
    for name, s in results.items():
        print(f"| {name} | {s['f1']:.4f} | {s['f1_no_punct']:.4f} | {s['precision']:.4f} | "
              f"{s['recall']:.4f} |")
    print("\nexample:", " ".join(segment(rows[0]["pieces"], rows[0]["r"], auto)))
    if args.record:
        command = "python experiments/prompting_segment.py " + " ".join(
            argv if argv is not None else sys.argv[1:])
        recs = [{"claim": f"word F1 against the People's Daily gold: {name}",
                 "value": s["f1"], "unit": "F1", "article": "7476",
                 "data": "shared/data/peoples_daily_199801/seg_gold.utf8",
                 "split": f"{len(texts)} sentences of <= 64 characters (fixed rule)",
                 "segmentation": name, "model": model_dir.name,
                 "notes": f"P {s['precision']}, R {s['recall']}, F1 without punctuation "
                          f"{s['f1_no_punct']}; AUC of r (within-word above boundary) "
                          f"{auc:.3f}; the article reports no F1"}
                for name, s in results.items()]
        write_records(args.record, recs, command, commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
