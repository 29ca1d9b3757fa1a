"""Speed of ``score_continuations`` (shared prefix KV cache) vs full forward passes.

The chess LM (https://kexue.fm/archives/7877) scores every legal move of a position: many
short continuations of one long prefix. ``score_continuations`` runs the prefix once, expands
its KV cache to one row per candidate and feeds all candidates together. It is compared, in
the same process and on the same random GPT-2 (``kexue.models``), with

- ``separate``: one full forward pass of ``prefix + candidate`` per candidate (the definition);
- ``batched``: the same full passes batched, ``--chunk`` candidates per call (the strong
  baseline: the same arithmetic as ``separate``, fewer calls).

Each is timed ``--repeats`` times, alternated, median reported; all three must agree (max
absolute difference of the summed log-probabilities, printed). ``--record`` appends the
speed-ups to ``results/decoding.jsonl``.

    python benchmarks/decoding_scoring.py --record     # 100 candidates x 4 tokens, prefix 200
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kexue.decoding import score_continuations  # noqa: E402
from kexue.io.atomic import atomic_write  # noqa: E402
from kexue.models import build_transformer_model  # noqa: E402

COMMAND = "python benchmarks/decoding_scoring.py --record"


def full_scores(model, prefix: list[int], cands: list[list[int]], chunk: int) -> torch.Tensor:
    """Sum of log p(candidate | prefix) from full forward passes, ``chunk`` candidates a call
    (all candidates of one call have the same length here)."""
    out = []
    with torch.inference_mode():
        for lo in range(0, len(cands), chunk):
            part = torch.tensor([prefix + c for c in cands[lo : lo + chunk]])
            m = len(cands[lo])
            logits = model(part).logits[:, len(prefix) - 1 : -1]
            logp = torch.log_softmax(logits.float(), dim=-1)
            out.append(logp.gather(2, part[:, len(prefix) :, None]).squeeze(2).sum(1))
            assert m == part.shape[1] - len(prefix)
    return torch.cat(out)


def record(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text() if path.exists() else ""
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(old + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--prefix", type=int, default=200)
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--cand-len", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=10, help="candidates per batched full pass")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--record", action="store_true", help="append to results/decoding.jsonl")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    torch.manual_seed(0)
    cfg = dict(vocab_size=args.vocab, n_positions=args.prefix + args.cand_len + 8,
               n_embd=args.hidden, n_layer=args.layers, n_head=args.heads)  # fmt: skip
    model = build_transformer_model(cfg, model="gpt2", application="lm").eval()
    g = torch.Generator().manual_seed(1)
    prefix = torch.randint(0, args.vocab, (args.prefix,), generator=g).tolist()
    cands = torch.randint(0, args.vocab, (args.candidates, args.cand_len), generator=g).tolist()

    runs = {
        "shared cache": lambda: score_continuations(model, prefix, cands),
        "batched": lambda: full_scores(model, prefix, cands, args.chunk),
        "separate": lambda: full_scores(model, prefix, cands, 1),
    }
    score_continuations(model, prefix, cands[:2])  # warm-up
    full_scores(model, prefix, cands[:2], 1)
    times: dict[str, list[float]] = {name: [] for name in runs}
    outs = {}
    for rep in range(args.repeats):
        for name in runs if rep % 2 == 0 else list(runs)[::-1]:
            t0 = time.perf_counter()
            outs[name] = runs[name]()
            times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    diff = max(float((outs[n] - outs["separate"]).abs().max()) for n in outs)
    print(
        f"GPT-2 {args.layers}L/{args.hidden}H/{args.heads} heads, vocab {args.vocab}; "
        f"{args.candidates} candidates x {args.cand_len} tokens after a {args.prefix}-token "
        f"prefix; torch {torch.__version__}, {args.threads} thread(s), median of "
        f"{args.repeats} alternated runs; max |difference| of the scores: {diff:.2e}\n"
    )
    print("| method | ms | speed-up of the shared cache |")
    print("|---|---|---|")
    for name in runs:
        print(f"| {name} | {med[name] * 1000:.0f} | {med[name] / med['shared cache']:.1f}x |")
    if args.record:
        base = dict(
            unit="x (time ratio, same process)",
            data=f"random GPT-2 {args.layers}L/{args.hidden}H vocab {args.vocab}; random ids",
            command=COMMAND, commit=commit, date=datetime.date.today().isoformat(),
            machine="2-core CPU",
            notes=f"median of {args.repeats} alternated runs, {args.threads} thread(s); times "
            + ", ".join(f"{n} {med[n] * 1000:.0f} ms" for n in runs)
            + f"; max score difference {diff:.1e}",
        )  # fmt: skip
        what = f"{args.candidates} candidates of {args.cand_len} tokens after a {args.prefix}"
        rows = [
            dict(claim=f"score_continuations vs one full forward per candidate ({what}-token "
                 "prefix)", value=round(med["separate"] / med["shared cache"], 1), **base),
            dict(claim=f"score_continuations vs batched full forwards ({what}-token prefix)",
                 value=round(med["batched"] / med["shared cache"], 1), **base),
        ]  # fmt: skip
        record(rows, ROOT / "results" / "decoding.jsonl")
        print("\nrecorded in results/decoding.jsonl")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
