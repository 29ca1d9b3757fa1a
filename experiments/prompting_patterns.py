"""Prefix vs suffix PET patterns, zero-shot (https://kexue.fm/archives/7764, the article's
P1-P5 with candidates 很/不), on Su's sentiment set and on FewCLUE EPRSTMT.

    python experiments/prompting_patterns.py --model kexue-mini-zh --limit 300 --maxlen 64 \\
        --record results/prompting.jsonl

``--sentiment`` takes any ``text<TAB>label`` file (default: ``sentiment.valid.data``, the
article's "valid" column; the test file is for the end only), ``--eprstmt`` any EPRSTMT-format
file (default ``dev_few_all``). ``--limit N``: a fixed random subset (seed 0) of the
sentiment file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")

#: the article's patterns (prefix unless named) and its zero-shot valid accuracy with
#: Google's BERT base (M1) and UER BERT large (M4)
PATTERNS = {
    "P1": ("{mask}满意。{text}", 66.94, 83.56),
    "P2 (suffix)": ("{text}{mask}满意。", 57.56, 72.52),
    "P3": ("{mask}好。{text}", 58.83, 76.46),
    "P4": ("{mask}理想。{text}", 83.70, 88.25),
    "P5": ("感觉如何？{mask}满意。{text}", 75.98, 82.43),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="kexue-mini-zh")
    p.add_argument("--sentiment", default=str(SHARED / "sentiment" / "sentiment.valid.data"))
    p.add_argument("--eprstmt", default=str(SHARED / "fewclue" / "eprstmt" / "dev_few_all.json"))
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--maxlen", type=int, default=64)
    p.add_argument("--record", default=None)
    args = p.parse_args(argv)

    import torch

    import kexue
    from kexue.prompting import MLMClassifier, Pattern, Verbalizer, load_model
    from kexue.prompting.fewclue import Example, read, subsample, task
    from kexue.recipes.records import git_commit, write_records

    torch.set_num_threads(1)
    commit = git_commit(ROOT)
    model_dir = Path(args.model) if Path(args.model).is_dir() else kexue.assets.path(args.model)
    model, tok = load_model(model_dir, with_mlm=True)
    sent = []
    for line in Path(args.sentiment).read_text(encoding="utf-8").split("\n"):
        if line.strip():
            text, _, label = line.rpartition("\t")
            sent.append(Example(text, None, int(label)))
    sent = subsample(sent, args.limit)
    epr = read(task("eprstmt", Path(args.eprstmt).parents[1]), args.eprstmt)
    sets = {"sentiment": (sent, {1: "很", 0: "不"}),
            "eprstmt": (epr, {"Positive": "很", "Negative": "不"})}
    rows = {}
    for pname, (template, _m1, _m4) in PATTERNS.items():
        for sname, (examples, words) in sets.items():
            clf = MLMClassifier(model, tok, Pattern(template), Verbalizer(words),
                                maxlen=args.maxlen, truncate=True, batch_size=32)
            pred = clf.predict([e.text for e in examples])
            acc = 100 * sum(p_ == e.label for p_, e in zip(pred, examples)) / len(examples)
            rows[(pname, sname)] = acc
            print(pname, sname, f"{acc:.2f}", flush=True)
    print(f"\n| pattern | template | sentiment valid ({len(sent)}) | EPRSTMT dev ({len(epr)}) "
          f"| article M1 valid | article M4 valid |\n|---|---|---|---|---|---|")
    for pname, (template, m1, m4) in PATTERNS.items():
        print(f"| {pname} | `{template}` | {rows[(pname, 'sentiment')]:.2f} | "
              f"{rows[(pname, 'eprstmt')]:.2f} | {m1} | {m4} |")
    if args.record:
        command = "python experiments/prompting_patterns.py " + " ".join(
            argv if argv is not None else sys.argv[1:])
        recs = []
        for (pname, sname), acc in rows.items():
            template, m1, m4 = PATTERNS[pname]
            data = ("shared/data/sentiment/" + Path(args.sentiment).name if sname == "sentiment"
                    else "shared/data/fewclue/eprstmt/" + Path(args.eprstmt).name)
            rec = {"claim": f"zero-shot PET accuracy, pattern {pname} {template!r}, on {sname} "
                            f"with {model_dir.name}",
                   "value": round(acc, 2), "unit": "accuracy %", "data": data,
                   "pattern": pname, "model": model_dir.name, "chance": 50.0,
                   "notes": f"{len(sets[sname][0])} examples; maxlen {args.maxlen}"}
            if sname == "sentiment":
                rec.update(article="7764", article_value=m1)
                rec["notes"] += "; article value: Google BERT base (M1), valid"
            recs.append(rec)
        write_records(args.record, recs, command, commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
