"""The tables of docs/similarity.md, in the layout of kexue.fm/archives/8321 and 8541, built
from the result records in results/similarity.jsonl (never typed):

    python experiments/similarity_table.py [--records results/similarity.jsonl]

Prints Markdown; the block between the ``<!-- similarity-tables -->`` markers of
docs/similarity.md is this output (tests/similarity/test_docs_table.py checks it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TASKS = ("ATEC", "BQ", "LCQMC", "PAWSX", "STS-B")
WHITEN = ("none", "whitening")
SUPERVISED = (("classifier", "[u, v, |u−v|] classifier head (8541)"),
              ("cosine", "cosine loss t(cos−1)² + (1−t)cos² (8541)"),
              ("cosent", "CoSENT (8847)"),
              ("simbert", "SimBERT: UniLM + in-batch contrastive (7427)"),
              ("cln", "CLN multi-task cross-encoder (8337)"),
              ("shared", "one unconditioned cross-encoder"),
              ("per-task", "one cross-encoder per task"),
              ("gru-am", "GRU + AM-Softmax (5743)"),
              ("gru-softmax", "GRU + softmax, m = 0 (5743)"))


def _article(pooling: str, task: str, j: int):
    from experiments.similarity_unsupervised import ARTICLE_BERT_BASE

    return ARTICLE_BERT_BASE[pooling][task][j]


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.2f}"


def render(records: list[dict]) -> str:
    out: list[str] = []
    unsup = [r for r in records if r.get("table") == "unsupervised"]
    if unsup:
        k = sorted({r["whitening"] for r in unsup} - set(WHITEN))
        cols = (*WHITEN, *k)
        out += ["**Unsupervised kexue-mini-zh** (Spearman ×100 on the dev parts; cell = "
                f"{' / '.join(cols)}), and below each row Google's Chinese BERT base from "
                "8321 (test splits, whitening-256):", "",
                "| | " + " | ".join(TASKS) + " |", "|---|" + "---|" * len(TASKS)]
        for p in ("P1", "P2", "P3", "P4"):
            mine, art = [], []
            for t in TASKS:
                cell = {r["whitening"]: r for r in unsup if r["pooling"] == p and r["task"] == t}
                mine.append("/".join(_fmt(cell[c]["value"]) if c in cell else "–" for c in cols))
                art.append("/".join(_fmt(cell[c].get("article_value", _article(p, t, j)))
                                    if c in cell else "–" for j, c in enumerate(cols)))
            out.append(f"| mini-P{p[1]} | " + " | ".join(mine) + " |")
            out.append(f"| *BERT-P{p[1]} (8321)* | " + " | ".join(art) + " |")
        out.append("")
    usohu = {r["pooling"]: r for r in records if r.get("table") == "sohu" and "pooling" in r}
    if usohu:
        out += ["Sohu `labelA` F1 of the unsupervised poolings (cosine threshold from LCQMC "
                "train pairs): " + ", ".join(f"{p} {usohu[p]['value']:.4f}"
                                             for p in sorted(usohu)) + ".", ""]
    sup = [r for r in records if r.get("table") == "supervised"]
    whole = [r for r in sup if r.get("dev_limit", 0) >= 100_000]
    sup = whole or sup  # the whole-dev-part runs replace the earlier 300-pair smoke runs
    if sup:
        part = "the whole dev parts" if whole else "the first 300 pairs of each dev part"
        out += [f"**Trained recipes** (kexue-mini-zh base; Spearman ×100 on {part}; "
                "*italics*: the article's number with a real base model on the test split, "
                "where it gives one):", "",
                "| recipe | " + " | ".join(TASKS) + " | Sohu labelA F1 |",
                "|---|" + "---|" * (len(TASKS) + 1)]
        sohu = {r["recipe"]: r for r in records if r.get("table") == "sohu" and "recipe" in r
                and (not whole or "--dev-limit 100000" in r["command"])}
        for key, title in SUPERVISED:
            rows = {r["task"]: r for r in sup if r["recipe"] == key}
            if not rows:
                continue
            cells = []
            for t in TASKS:
                r = rows.get(t)
                c = _fmt(r["value"]) if r else "–"
                if r and "article_value" in r:
                    c += f" (*{r['article_value']:.2f}*)"
                cells.append(c)
            s = sohu.get(key)
            sc = f"{s['value']:.4f}" if s else "–"
            if s and "article_value" in s:
                sc += f" (*{s['article_value']}*)"
            out.append(f"| {title} | " + " | ".join(cells) + f" | {sc} |")
        out.append("")
    gru = [r for r in records if r.get("table") == "gru"]
    if whole:
        gru = [r for r in gru if "--dev-limit 100000" in r["command"]] or gru
    if gru:
        out += ["**GRU retrieval** among held-out paraphrase groups (dev positives; a hit = a "
                "same-group sentence among the k nearest):", "",
                "| loss | top1 | top5 | top10 |", "|---|---|---|---|"]
        for key, title in SUPERVISED[-2:]:
            row = {r["metric"]: r for r in gru if r["recipe"] == key}
            if row:
                out.append(f"| {title} | " + " | ".join(
                    f"{row[m]['value']:.4f} (*{row[m]['article_value']}*)" if m in row else "–"
                    for m in ("top1", "top5", "top10")) + " |")
        out.append("")
    shipped = {r["task"]: r for r in records if r.get("table") == "shipped"}
    if shipped:
        out += ["**Shipped `kexue-sim-mini-zh`** (float16 weights as shipped; whole dev parts; "
                "8541's RoFormer-Sim-FT base on the test splits in italics):", "",
                "| | " + " | ".join(TASKS) + " | Sohu labelA F1 |",
                "|---|" + "---|" * (len(TASKS) + 1),
                "| kexue-sim-mini-zh | " + " | ".join(
                    _fmt(shipped[t]["value"]) if t in shipped else "–" for t in TASKS)
                + " | " + (f"{shipped['sohu_f1']['value']:.4f}" if "sohu_f1" in shipped
                           else "–") + " |",
                "| *RoFormer-Sim-FT base (8541)* | " + " | ".join(
                    f"*{v:.2f}*" for v in (51.71, 73.48, 79.56, 62.84, 78.28)) + " | – |", ""]
    demo = [r for r in records if r.get("table") == "shipped-demo"]
    if demo:
        out += ["8541's demo pairs, cosine of the shipped model (the article's RoFormer-Sim-FT "
                "base in italics): " + "; ".join(
                    f"{r['claim'].split(' cosine of ')[1]} {r['value']:.3f} "
                    f"(*{r['article_value']}*)" for r in demo[-6:]) + ".", ""]
    return "\n".join(out).rstrip() + "\n"


def load(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", default=str(REPO / "results" / "similarity.jsonl"))
    args = ap.parse_args()
    sys.stdout.write(render(load(Path(args.records))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
