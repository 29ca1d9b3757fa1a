"""Speed of the prompting pieces on the shipped kexue-mini-zh (4 x 256):

1. zero-shot PET scoring, examples/s: all labels from one batched pass
   (:class:`kexue.prompting.MLMClassifier`) vs one pass per example per label (the naive
   loop), TNEWS-like 15 two-character labels;
2. NSP-BERT candidates-contrast, examples/s (15 prompts per example, batched);
3. the Perturbed-Masking impact of a 64-character sentence: adjacent pairs (2L − 1 rows,
   what segmentation needs), batched vs one row per pass, and the full matrix (L² rows) of a
   24-character sentence.

    python benchmarks/prompting.py [--examples 32] [--record results/prompting.jsonl]

CPU time of this process (``time.process_time``, one thread), so other jobs on the shared
machine do not inflate it; ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEXT = ("国务院总理李鹏今天上午在人民大会堂会见了来访的日本客人，双方就两国关系和共同关心的"
        "问题交换了意见，会见结束后客人参观了北京市的几个新建住宅小区")
LABELS = ["故事", "文化", "娱乐", "体育", "财经", "房产", "汽车", "教育", "科技", "军事", "旅游",
          "国际", "股票", "农业", "电竞"]


def timed(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--examples", type=int, default=32)
    p.add_argument("--record", default=None)
    args = p.parse_args(argv)

    import kexue
    from kexue.prompting import MLMClassifier, NSPClassifier, Pattern, Verbalizer, load_model
    from kexue.prompting.perturbed import adjacent_impact, impact_matrix
    from kexue.recipes.records import git_commit, write_records

    torch.set_num_threads(1)
    commit = git_commit(ROOT)
    model, tok = load_model(kexue.assets.path("kexue-mini-zh"), with_mlm=True, with_nsp=True)
    texts = [TEXT[: 20 + (i % 7) * 5] for i in range(args.examples)]
    pattern = Pattern("下面报导一则{mask}新闻。{text}")
    batched = MLMClassifier(model, tok, pattern, Verbalizer({x: x for x in LABELS}),
                            maxlen=128, batch_size=32)
    t_batched = timed(lambda: batched.scores(texts))
    singles = [MLMClassifier(model, tok, pattern, Verbalizer({x: x}), maxlen=128, batch_size=1)
               for x in LABELS]
    few = texts[: max(2, args.examples // 8)]
    t_naive = timed(lambda: [c.scores([t]) for t in few for c in singles]) * len(texts) / len(few)
    nsp = NSPClassifier(model, tok, maxlen=128, batch_size=64)
    prompts = [f"这是一则{x}新闻" for x in LABELS]
    t_nsp = timed(lambda: nsp.candidates(texts, prompts))

    ids = tok.encode(TEXT[:64])[0]
    mask_id = tok.token_to_id(tok.mask_token)
    L = len(ids) - 2
    t_adj = timed(lambda: adjacent_impact(model, ids, mask_id, batch_size=64))
    t_adj_loop = timed(lambda: adjacent_impact(model, ids, mask_id, batch_size=1))
    short = tok.encode(TEXT[:24])[0]  # the full matrix grows as L²: a 24-character sentence
    S = len(short) - 2
    t_full = timed(lambda: impact_matrix(model, short, mask_id, batch_size=128))

    rows = [
        ("zero-shot PET, 15 labels, one batched pass", len(texts) / t_batched, "examples/s"),
        ("zero-shot PET, one pass per example and label", len(texts) / t_naive, "examples/s"),
        ("NSP-BERT candidates-contrast, 15 prompts, batched", len(texts) / t_nsp, "examples/s"),
        (f"impact, adjacent pairs of a {L}-character sentence ({2 * L - 1} rows), batched",
         t_adj, "s"),
        (f"impact, adjacent pairs ({2 * L - 1} rows), one row per pass", t_adj_loop, "s"),
        (f"impact, full {S} x {S} matrix of a {S}-character sentence ({S * S} rows), batched",
         t_full, "s"),
    ]
    print("| what | value | unit |\n|---|---|---|")
    for name, value, unit in rows:
        print(f"| {name} | {value:.3g} | {unit} |")
    print(f"\nbatched PET scoring is {t_naive / t_batched:.1f}x the per-label loop; batched "
          f"adjacent impact {t_adj_loop / t_adj:.1f}x the one-row loop")
    if args.record:
        command = "python benchmarks/prompting.py " + " ".join(
            argv if argv is not None else sys.argv[1:])
        recs = [{"claim": f"speed: {name} (kexue-mini-zh, CPU time, 1 thread)",
                 "value": round(value, 3), "unit": unit, "data": "a fixed People's-Daily-style "
                 "sentence (benchmarks/prompting.py TEXT)",
                 "notes": f"same run: PET batched/naive speed-up {t_naive / t_batched:.1f}x; "
                          f"adjacent impact batched/loop {t_adj_loop / t_adj:.1f}x"}
                for name, value, unit in rows]
        write_records(args.record, recs, command, commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
