"""A/B speed of two versions of ``kexue.decoding`` on the same model, in one process.

Refactors of the decoder must not cost speed. This loads the decoding package of another
checkout (``--old DIR``, e.g. ``git archive <sha> | tar -x -C DIR``) next to this one, builds one
random GPT-2 with ``kexue.models`` (shared by both), and times greedy and beam-4 decoding of the
same left-padded prompts with each, alternated, median of ``--repeats`` after a warm-up; it also
checks that both return the same tokens. A small model (the default) makes the decoder's own
per-step overhead a larger share of the time than GPT-2 small would.

    git archive 52597f1 | (mkdir -p /tmp/old && tar -x -C /tmp/old)
    python benchmarks/decoding_ab.py --old /tmp/old
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kexue.decoding import AutoRegressiveDecoder  # noqa: E402
from kexue.io.atomic import atomic_write  # noqa: E402
from kexue.models import build_transformer_model  # noqa: E402

ALIAS = "_kexue_decoding_old"
ROOT = Path(__file__).resolve().parents[1]


def record(rows: list[dict], path: Path) -> None:
    """Append ``rows`` to the JSON-lines file ``path`` (rewritten atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text() if path.exists() else ""
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(old + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def load_old(root: Path, tmp: Path):
    """Import ``root/kexue/decoding`` as package ``ALIAS`` (its ``kexue.decoding`` imports
    rewritten), so both versions live in one process and drive the same model object."""
    dst = tmp / ALIAS
    shutil.copytree(root / "kexue" / "decoding", dst)
    for f in dst.glob("*.py"):
        f.write_text(f.read_text().replace("kexue.decoding", ALIAS))
    sys.path.insert(0, str(tmp))
    return importlib.import_module(ALIAS).AutoRegressiveDecoder


def make_model(layers: int, hidden: int, heads: int, vocab: int):
    torch.manual_seed(0)
    cfg = dict(
        vocab_size=vocab, n_positions=256, n_embd=hidden, n_layer=layers, n_head=heads,
    )  # fmt: skip
    return build_transformer_model(cfg, model="gpt2", application="lm").eval()


def make_prompts(batch: int, prompt_len: int, vocab: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(batch)
    lengths = torch.randint(max(1, prompt_len // 2), prompt_len + 1, (batch,), generator=g)
    return [torch.randint(1, vocab, (int(n),), generator=g).tolist() for n in lengths]


def run(dec, prompts, beams: int, new: int):
    if beams == 1:
        return dec.greedy(prompts, max_new_tokens=new).tolist()
    return dec.beam_search(prompts, num_beams=beams, max_new_tokens=new).tolist()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, required=True, help="root of the other checkout")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--prompt-len", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--beams", default="1,4")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--stat", choices=("median", "min"), default="median",
                    help="min is the more robust statistic on a shared machine")  # fmt: skip
    ap.add_argument("--record", metavar="OLD_COMMIT",
                    help="append new/old ratios to results/decoding.jsonl, naming the old "
                    "checkout's commit")  # fmt: skip
    ap.add_argument("--clock", choices=("wall", "process"), default="wall",
                    help="process: CPU time of this process (time.process_time), which time "
                    "spent waiting for a CPU on a shared machine does not inflate")  # fmt: skip
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "process" else time.perf_counter
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        Old = load_old(args.old.resolve(), Path(tmp))
        model = make_model(args.layers, args.hidden, args.heads, args.vocab)
        decs = {
            "old": Old(model, end_id=None, pad_id=0),
            "new": AutoRegressiveDecoder(model, end_id=None, pad_id=0),
        }
        print(
            f"GPT-2 {args.layers}L/{args.hidden}H, vocab {args.vocab}, {args.new_tokens} new "
            f"tokens, torch {torch.__version__}, {torch.get_num_threads()} threads, {args.stat} of "
            f"{args.repeats} alternated runs ({args.clock} time); old = {args.old}\n"
        )
        print("| decoding | batch | old tok/s | new tok/s | new / old | same tokens |")
        print("|---|---|---|---|---|---|")
        for beams in [int(b) for b in args.beams.split(",")]:
            for batch in [int(b) for b in args.batches.split(",")]:
                prompts = make_prompts(batch, args.prompt_len, args.vocab)
                for dec in decs.values():
                    run(dec, prompts, beams, 2)
                times: dict[str, list[float]] = {"old": [], "new": []}
                outs = {}
                for rep in range(args.repeats):
                    for who in ("old", "new") if rep % 2 == 0 else ("new", "old"):
                        t0 = clock()
                        outs[who] = run(decs[who], prompts, beams, args.new_tokens)
                        times[who].append(clock() - t0)
                stat = min if args.stat == "min" else statistics.median
                tps = {w: batch * args.new_tokens / stat(t) for w, t in times.items()}
                name = "greedy" if beams == 1 else f"beam-{beams}"
                records.append(dict(
                    claim=f"decoder at {commit[:7]} vs {args.record}: {name}, batch {batch}, "
                    f"tokens/s ratio (GPT-2 {args.layers}L/{args.hidden}H, vocab {args.vocab})",
                    value=round(tps["new"] / tps["old"], 3), unit="x (new / old, same process)",
                    data="random GPT-2 built with kexue.models; random prompt ids",
                    command=" ".join(["python benchmarks/decoding_ab.py"] + sys.argv[1:]),
                    commit=commit, date=datetime.date.today().isoformat(),
                    machine="2-core CPU",
                    notes=f"old = `git archive {args.record}` unpacked at --old; "
                    f"{args.stat} of {args.repeats} alternated runs, {args.clock} time, "
                    f"{torch.get_num_threads()} thread(s), {args.new_tokens} new tokens; "
                    f"old {tps['old']:.1f} tok/s, new {tps['new']:.1f} tok/s; same tokens: "
                    f"{outs['old'] == outs['new']}",
                ))  # fmt: skip
                print(
                    f"| {name} | {batch} | {tps['old']:.1f} | {tps['new']:.1f} "
                    f"| {tps['new'] / tps['old']:.3f}x | "
                    f"{'yes' if outs['old'] == outs['new'] else 'NO'} |",
                    flush=True,
                )
    if args.record:
        record(records, ROOT / "results" / "decoding.jsonl")
        print("\nrecorded in results/decoding.jsonl")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
