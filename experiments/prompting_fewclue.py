"""Zero-shot PET and NSP-BERT on the nine FewCLUE tasks, printed in the article's table layout
(https://kexue.fm/archives/8671, Table 1 of NSP-BERT; PET: https://kexue.fm/archives/7764).

    python experiments/prompting_fewclue.py --model kexue-mini-zh --limit 200 \\
        --out /work/runs/issue17-prompting/fewclue-zero.json --record results/prompting.jsonl
    python experiments/prompting_fewclue.py --table results/prompting.jsonl

``--split`` picks ``<task>/<split>.json`` in ``--data`` (default ``dev_few_all``; the
held-back ``test_public`` runs the same way); ``--limit N`` evaluates a fixed random subset of
N examples of the bigger files (seed 0; all examples when the file is smaller). NSP-BERT's
samples-contrast thresholds come from ``train_few_all``. ``--out`` keeps each finished
(task, method) so the same command resumes. ``--table FILE`` prints the table from any
result-record file of this format.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "fewclue"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/fewclue")

COLUMNS = ("eprstmt", "csldcp", "tnews", "iflytek", "ocnli", "bustm", "csl", "chid", "cluewsc")
#: NSP-BERT Table 1 (test_public accuracy %, base-size models; * = samples-contrast)
ARTICLE = {
    "GPT-zero": (57.5, 26.2, 37.0, 19.0, 34.4, 50.0, 50.1, 65.6, 50.3),
    "PET-zero": (85.2, 12.6, 26.1, 26.6, 40.3, 50.6, 52.2, 57.6, 54.7),
    "NSP-BERT": (86.9, 47.6, 51.0, 41.6, 37.4, 63.4, 64.4, 52.0, 59.4),
    "PET (few-shot)": (87.2, 56.9, 53.7, 35.1, 43.9, 64.0, 55.0, 61.3, 59.2),
    "RoBERTa fine-tune (few-shot)": (63.2, 35.7, 49.3, 32.8, 33.5, 55.5, 50.0, 15.7, 49.6),
}
ARTICLE_ORDER = ("eprstmt", "csldcp", "tnews", "iflytek", "ocnli", "bustm", "csl", "chid",
                 "cluewsc")
METHOD_NAMES = {"pet": "PET-zero", "nsp": "NSP-BERT", "pet-few": "PET (few-shot)",
                "head": "head fine-tune (few-shot)"}


def article_value(method: str, name: str) -> float | None:
    row = ARTICLE.get(METHOD_NAMES.get(method, method))
    return None if row is None else row[ARTICLE_ORDER.index(name)]


def chance(name: str) -> float:
    return {"eprstmt": 50.0, "csldcp": 100 / 67, "tnews": 100 / 15, "iflytek": 100 / 119,
            "ocnli": 100 / 3, "bustm": 50.0, "csl": 50.0, "chid": 100 / 7,
            "cluewsc": 50.0}[name]


def print_table(cells: dict[tuple[str, str], float], title: str) -> None:
    """``cells[(method, task)] = accuracy %``: the article's layout, its rows underneath."""
    head = "| method | Score | " + " | ".join(c.upper() for c in COLUMNS) + " |"
    print(f"\n{title}\n\n{head}\n|" + "---|" * (len(COLUMNS) + 2))

    def row(name, values):
        have = [v for v in values if v is not None]
        score = f"{sum(have) / len(have):.2f}" if len(have) == len(values) else "—"
        cells_ = " | ".join("—" if v is None else f"{v:.1f}" for v in values)
        print(f"| {name} | {score} | {cells_} |")

    methods = sorted({m for m, _ in cells}, key=lambda m: list(METHOD_NAMES).index(m)
                     if m in METHOD_NAMES else 99)
    for m in methods:
        row(METHOD_NAMES.get(m, m) + " (this model)", [cells.get((m, c)) for c in COLUMNS])
    row("chance", [chance(c) for c in COLUMNS])
    for name, values in ARTICLE.items():
        row(name + " (article, test_public)", [values[ARTICLE_ORDER.index(c)] for c in COLUMNS])


def table_from_records(path: str) -> int:
    cells = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        if "fewclue_task" in r and "method" in r:
            v = r["value"]
            cells[(r["method"], r["fewclue_task"])] = v["mean"] if isinstance(v, dict) else v
    if not cells:
        print(f"{path}: no FewCLUE records (keys fewclue_task, method)", file=sys.stderr)
        return 1
    print_table(cells, f"FewCLUE accuracy % from {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="kexue-mini-zh",
                   help="a shipped model name (kexue.assets) or a model directory")
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--tasks", default=",".join(COLUMNS))
    p.add_argument("--methods", default="pet,nsp")
    p.add_argument("--split", default="dev_few_all")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--out", default=None, help="JSON of finished results (resumes)")
    p.add_argument("--record", default=None, help="append result records to this file")
    p.add_argument("--table", default=None, help="only print the table of a record file")
    args = p.parse_args(argv)
    if args.table:
        return table_from_records(args.table)

    import torch

    import kexue
    from kexue.prompting import fewclue
    from kexue.prompting._model import load
    from kexue.recipes.records import git_commit, write_records

    torch.set_num_threads(1)
    commit = git_commit(ROOT)
    model_dir = Path(args.model) if Path(args.model).is_dir() else kexue.assets.path(args.model)
    model, tok = load(model_dir, with_mlm=True, with_nsp=True)
    done = json.loads(Path(args.out).read_text()) if args.out and Path(args.out).exists() else {}
    for name in args.tasks.split(","):
        t = fewclue.task(name, args.data)
        path = Path(args.data) / name / f"{args.split}.json"
        examples = fewclue.subsample(fewclue.read(t, path), args.limit)
        for method in args.methods.split(","):
            key = f"{name}/{method}"
            if key in done:
                continue
            start = time.time()
            if method == "pet":
                res = {"accuracy": fewclue.evaluate_pet(t, model, tok, examples,
                                                        maxlen=args.maxlen)}
            elif method == "nsp":
                tune = fewclue.read(t, Path(args.data) / name / "train_few_all.json") \
                    if t.pair else None
                res = fewclue.evaluate_nsp(t, model, tok, examples, tune=tune,
                                           maxlen=args.maxlen)
            else:
                raise SystemExit(f"unknown method {method!r} (pet, nsp)")
            res.update(n=len(examples), seconds=round(time.time() - start, 1))
            done[key] = res
            print(key, json.dumps(res), flush=True)
            if args.out:
                from kexue.io.atomic import write_text
                write_text(args.out, json.dumps(done, indent=1))
    cells = {(k.split("/")[1], k.split("/")[0]): 100 * v["accuracy"] for k, v in done.items()}
    print_table(cells, f"zero-shot accuracy % on {args.split} ({model_dir.name})")
    if args.record:
        command = "python experiments/prompting_fewclue.py " + " ".join(
            a for a in (argv if argv is not None else sys.argv[1:]))
        records = []
        for key, res in done.items():
            name, method = key.split("/")
            rec = {"claim": f"zero-shot {METHOD_NAMES[method]} accuracy on FewCLUE {name} "
                            f"{args.split} with {model_dir.name}",
                   "value": round(100 * res["accuracy"], 2), "unit": "accuracy %",
                   "data": f"shared/data/fewclue/{name}/{args.split}.json",
                   "split": args.split, "fewclue_task": name, "method": method,
                   "model": model_dir.name, "chance": round(chance(name), 2),
                   "notes": f"{res['n']} examples"
                            + (" (fixed random subset, seed 0)" if args.limit else "")
                            + f"; maxlen {args.maxlen}; {res['seconds']} s"}
            if "accuracy_equal" in res:
                rec["notes"] += (f"; samples-contrast, thresholds fitted on train_few_all "
                                 f"(equal groups: {100 * res['accuracy_equal']:.2f})")
            art = article_value(method, name)
            if art is not None:
                rec.update(article="8671", article_value=art)
                rec["notes"] += "; article: base-size model on test_public"
            records.append(rec)
        write_records(args.record, records, command, commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
