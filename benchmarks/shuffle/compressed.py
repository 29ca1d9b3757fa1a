"""Benchmark `kexue shuffle` on a gzip corpus: plain input vs gzip input vs `gzip -dc | kexue -`.

The corpus is the shipped pretraining text (``../shared/data/pretrain_zh/train-*.txt.gz``,
decompressed and repeated up to ``--size``), written once plain and once as gzip (level 6,
the `gzip` default). Every competitor runs ``--repeats`` times in alternation under GNU time
(helpers of bench.py); the table gives the median wall time, MB/s of *decompressed* text,
CPU time and the ratio to the pipe (the issue's goal: reading gzip costs no more than
`gzip -dc | kexue shuffle -`). ``gzip -dc > /dev/null`` is the decompression alone, for
reference. Outputs are checked to be permutations of the text. With ``--record``, the ratios
are appended to results/shuffle.jsonl.

    python benchmarks/shuffle/compressed.py --size 256M --memory 128M --repeats 3
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from bench import REPO, fingerprint, measure

sys.path.insert(0, str(REPO))  # this checkout's kexue, as the measured commands use

SHIPPED = REPO.parent / "shared" / "data" / "pretrain_zh"


def make_corpus(plain: Path, packed: Path, size: int) -> None:
    """``size`` bytes (whole lines) of the shipped text, plain and gzip-compressed."""
    from kexue.io.lines import open_output

    shards = sorted(SHIPPED.glob("train-*.txt.gz"))
    if not shards:
        sys.exit(f"shipped corpus not found under {SHIPPED}")
    written = 0
    with open(plain, "wb") as out:
        while written < size:
            for shard in shards:
                with gzip.open(shard, "rb") as f:
                    for line in f:
                        out.write(line)
                        written += len(line)
                        if written >= size:
                            break
                if written >= size:
                    break
    with open(plain, "rb") as f, open_output(packed, level=6, fsync=False) as out:
        while data := f.read(1 << 22):
            out.write(data)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="256M", help="decompressed corpus size")
    p.add_argument("--memory", default="128M")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workdir", default="/tmp")
    p.add_argument("--record", action="store_true", help="append to results/shuffle.jsonl")
    args = p.parse_args()
    from kexue.data.sizes import parse_size

    work = Path(args.workdir) / f"kexue-shuffle-gz-bench-{os.getpid()}"
    work.mkdir(parents=True)
    plain, packed, out = work / "corpus.txt", work / "corpus.txt.gz", work / "out.txt"
    py = sys.executable
    load = os.getloadavg()
    try:
        make_corpus(plain, packed, parse_size(args.size))
        size = plain.stat().st_size
        want = fingerprint(plain)
        common = ["-o", str(out), "--memory", args.memory, "--seed", "0", "-q",
                  "--tmpdir", str(work)]
        kx = f"'{py}' -m kexue shuffle - {' '.join(repr(x) for x in common)}"
        competitors = {
            "gzip -dc > /dev/null (decompression alone)":
                ["sh", "-c", f"gzip -dc '{packed}' > /dev/null"],
            "kexue shuffle plain.txt": [py, "-m", "kexue", "shuffle", str(plain), *common],
            "kexue shuffle corpus.txt.gz": [py, "-m", "kexue", "shuffle", str(packed), *common],
            "gzip -dc corpus.txt.gz \\| kexue shuffle -":
                ["sh", "-c", f"gzip -dc '{packed}' | {kx}"],
        }
        results: dict[str, list[tuple[float, float, int, int]]] = {k: [] for k in competitors}
        for r in range(args.repeats):
            for name, argv in competitors.items():
                results[name].append(measure(argv, work))
                if out.exists():
                    if r == 0:
                        assert fingerprint(out) == want, f"{name}: not a permutation"
                    out.unlink()
                print(f"  run {r + 1} {name}: {results[name][-1][0]:.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    wall = {k: statistics.median(r[0] for r in v) for k, v in results.items()}
    pipe = wall["gzip -dc corpus.txt.gz \\| kexue shuffle -"]
    print(f"\n{size / 1e6:.0f} MB of shipped text ({packed.name}: gzip -6), --memory "
          f"{args.memory}, median of {args.repeats} runs, {os.cpu_count()} cores\n")
    print("| command | wall s (median) | all runs | MB/s (text) | CPU s | peak RSS MB | × pipe |")
    print("|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        cpu = statistics.median(r[1] for r in runs)
        rss = max(r[2] for r in runs)
        print(f"| {name} | {wall[name]:.2f} | {' / '.join(f'{r[0]:.1f}' for r in runs)} | "
              f"{size / 1e6 / wall[name]:.0f} | {cpu:.2f} | {rss / 1e6:.0f} | "
              f"{wall[name] / pipe:.2f} |")
    if args.record:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                capture_output=True, text=True).stdout.strip()
        base = {"data": f"shared/data/pretrain_zh/train-*.txt.gz, {size / 1e6:.0f} MB of text",
                "command": f"python benchmarks/shuffle/compressed.py --size {args.size} "
                           f"--memory {args.memory} --repeats {args.repeats} --record",
                "commit": commit, "date": datetime.date.today().isoformat(),
                "machine": "2-core CPU"}
        rows = [
            {"claim": "kexue shuffle wall time on a gzip file / on the same text piped from "
                      "gzip -dc", "value": round(wall["kexue shuffle corpus.txt.gz"] / pipe, 3),
             "unit": "ratio", **base},
            {"claim": "kexue shuffle wall time on a gzip file / on the decompressed file",
             "value": round(wall["kexue shuffle corpus.txt.gz"]
                            / wall["kexue shuffle plain.txt"], 3), "unit": "ratio", **base},
        ]
        cpu = {k: statistics.median(r[1] for r in v) for k, v in results.items()}
        load = f"load average {load[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end"
        rows.append(
            {"claim": "CPU time (user+sys, all processes) of kexue shuffle on a gzip file / "
                      "of gzip -dc | kexue shuffle -",
             "value": round(cpu["kexue shuffle corpus.txt.gz"]
                            / cpu["gzip -dc corpus.txt.gz \\| kexue shuffle -"], 3),
             "unit": "ratio", **base})
        for row in rows:
            row["notes"] = f"medians of {args.repeats} alternating runs; {load}"
        with open(REPO / "results" / "shuffle.jsonl", "a") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
