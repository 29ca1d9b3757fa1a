"""The held-out accuracy table of docs/mwp.md, built from results/mwp.jsonl (never typed):

    python experiments/mwp_table.py [--records results/mwp.jsonl]

One row per solver (the directory its ``kexue mwp eval`` records name) and decoding, newest
record first-come per (solver, beams, constrained), in record order; the retrieval baseline
first. The block between the ``<!-- mwp-table -->`` markers of docs/mwp.md is this output
(tests/recipes/mwp/test_docs_table.py checks it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: a readable name for each solver directory the records name; others are left out
SOLVERS = {
    "kexue/assets/kexue-mwp-mini-zh": "shipped kexue-mwp-mini-zh (number slots, 8 epochs)",
    "/work/runs/issue15-mwp/slots-random/best": "same recipe from random weights",
    "/work/runs/issue15-mwp/mini16/best": "literal numbers as the article, 16 epochs",
}
_SOLVER = re.compile(r"^solver (\S+) beam (\d+)")


def render(records: list[dict]) -> str:
    rows: dict[tuple[str, int, bool], dict] = {}
    base = None
    for r in records:
        if r.get("split") != "heldout" or r.get("unit") != "%":
            continue
        if r["claim"].startswith("retrieval baseline"):
            base = r
            continue
        m = _SOLVER.match(r["claim"])
        if m and m.group(1) in SOLVERS and "1000 problems" in r["claim"]:
            rows[(m.group(1), r["beams"], r["constrained"])] = r
    out = ["| system | decoding | accuracy | unparsable | wrong value |",
           "|---|---|---:|---:|---:|"]

    def cells(r: dict) -> str:
        e = json.loads(r["notes"])
        return (f"{r['value']:.1f} % | {e.get('unparsable', 0) / 10:.1f} % | "
                f"{e.get('wrong value', 0) / 10:.1f} %")

    if base is not None:
        out.append(f"| retrieval baseline (char 1–3-gram TF-IDF, numbers substituted) | — | "
                   f"{cells(base)} |")
    for solver, title in SOLVERS.items():
        for c in (False, True):
            for b in (1, 2, 3):
                r = rows.get((solver, b, c))
                if r:
                    out.append(f"| {title} | beam {b}{', constrained' if c else ''} | "
                               f"{cells(r)} |")
    out.append("| article, Base (12 layers, 200k problems, ~25 epochs; all 4,999 validation "
               "problems) | beam 1 / 3 | 71.67 / 71.85 % | | |")
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", default=str(REPO / "results" / "mwp.jsonl"))
    a = ap.parse_args()
    recs = [json.loads(line) for line in Path(a.records).read_text(encoding="utf-8").splitlines()
            if line.strip()]
    sys.stdout.write(render(recs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
