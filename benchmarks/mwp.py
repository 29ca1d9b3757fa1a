"""Beam-3 decoding speed of the maths solver: problems/s batched (many problems at once, KV
cache) vs. one problem at a time, with the cache and without it (bert4keras's decoder re-ran
the whole model every step for one input at a time; kexue.fm/archives/7809).

    python benchmarks/mwp.py --model RUN/last [--problems 48] [--batch-size 48] [--record]

Ape210K validation problems (the first N by file order), the same solver and settings in every
row; CPU time of this process (``time.process_time``, one thread), so other jobs on a shared
machine do not inflate it. Without ``--model`` the shipped ``kexue-mini-zh`` weights are used
untrained (its outputs run to the length limit, so absolute rates are lower; the ratio is what
the benchmark measures). ``--record`` appends the ratios to ``results/mwp.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kexue.decoding import AutoRegressiveDecoder  # noqa: E402
from kexue.recipes.mwp.data import read_ape210k  # noqa: E402
from kexue.recipes.mwp.model import Solver, SolverConfig, build_model, load_solver  # noqa: E402

DATA = "../shared/data/ape210k/valid.ape.json"


def _rate(solver: Solver, questions: list[str], batch_size: int, beams: int) -> float:
    start = time.process_time()
    for i in range(0, len(questions), batch_size):
        solver.solve(questions[i: i + batch_size], beams=beams, batch_size=batch_size)
    return len(questions) / (time.process_time() - start)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=None, help="solver directory (default: untrained mini)")
    p.add_argument("--problems", type=int, default=48)
    p.add_argument("--batch-size", type=int, default=48)
    p.add_argument("--beams", type=int, default=3)
    p.add_argument("--record", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)
    root = Path(__file__).resolve().parents[1]
    read = read_ape210k(root / DATA)
    questions = [q.question for q in read.problems[: a.problems]]
    if a.model:
        solver = load_solver(a.model)
    else:
        import kexue.assets
        from kexue.text import Tokenizer

        tok = Tokenizer(kexue.assets.path("kexue-mini-zh") / "vocab.txt")
        solver = Solver(build_model(), tok, SolverConfig())
    uncached = Solver(solver.model, solver.tokenizer, solver.config)
    uncached.decoder = AutoRegressiveDecoder(solver.model, end_id=solver.end_id, pad_id=0,
                                             use_cache=False)
    rows = [("batched (KV cache)", _rate(solver, questions, a.batch_size, a.beams)),
            ("one at a time (KV cache)", _rate(solver, questions, 1, a.beams)),
            ("one at a time, no cache (bert4keras)", _rate(uncached, questions, 1, a.beams))]
    base = rows[-1][1]
    print(f"beam {a.beams}, {len(questions)} Ape210K validation problems, 1 thread, CPU time")
    print(f"{'decoding':40s} {'problems/s':>10s} {'vs bert4keras':>14s}")
    for name, rate in rows:
        print(f"{name:40s} {rate:10.2f} {rate / base:13.1f}x")
    if a.record:
        from kexue.recipes.records import git_commit, write_records

        command = "python benchmarks/mwp.py " + " ".join(sys.argv[1:])
        records = [{"claim": f"beam-{a.beams} decoding speed, {name}, relative to one problem "
                             "at a time without a cache (bert4keras)",
                    "value": round(rate / base, 2), "unit": "x", "data": DATA,
                    "notes": f"{rate:.2f} problems/s CPU time, {len(questions)} problems, "
                             f"batch {a.batch_size}, model {a.model or 'untrained mini'}"}
                   for name, rate in rows[:2]]
        write_records(root / "results" / "mwp.jsonl", records, command, git_commit())


if __name__ == "__main__":
    main()
