"""Benchmark compressed inputs and the Dask path of `kexue shuffle` on the shipped corpus.

The corpus is the shipped pretraining text (``../shared/data/pretrain_zh/train-*.txt.gz``,
five gzip files of 16 MB of text each, 82 MB): copies of the shipped files, byte-concatenated
(gzip members, as ``cat a.gz b.gz`` makes) into ``--files`` gzip shards holding at least
``--size`` of text, and the same text decompressed into ``--files`` plain shards. Every
competitor writes ``--shard-lines`` shards and runs ``--repeats`` times in alternation (GNU
time, helpers of bench.py):

- ``gzip -dc`` of the shards to /dev/null (decompression alone, for reference);
- ``kexue shuffle`` on the plain shards, on the gzip shards (default: on 2 cores, decompression
  on the reading thread), on the gzip shards with ``--decompress-threads 1``, and
  ``gzip -dc shards | kexue shuffle -`` (the issue's goal: gzip input costs no more);
- the Dask job (``kexue shuffle --scheduler``) on the gzip shards, on a cluster started with
  the commands of docs/shuffle.md (``dask scheduler``, ``dask worker --nworkers 2 --nthreads
  1``, loopback only) before the runs; its CPU time adds the workers' CPU.

Outputs are checked to be permutations of the text. With ``--record`` the ratios go to
results/shuffle.jsonl, with the load average in the notes (the machine is shared).

    python benchmarks/shuffle/cluster.py --size 1G --files 16 --memory 128M \\
        --shard-lines 200000 --repeats 1 --record
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
import time
from pathlib import Path

import psutil
from bench import REPO, fingerprint, measure

sys.path.insert(0, str(REPO))  # this checkout's kexue, as the measured commands use

SHIPPED = REPO.parent / "shared" / "data" / "pretrain_zh"


def make_corpus(work: Path, size: int, files: int) -> tuple[list[Path], list[Path], int]:
    """``files`` gzip shards made of whole shipped gzip files (byte copies: concatenated members,
    as `cat a.gz b.gz` makes) repeated until they hold at least ``size`` bytes of text, and
    their decompressed twins. Returns the plain shards, the gzip shards and the number of
    shipped files used."""
    import math

    sources = sorted(SHIPPED.glob("train-*.txt.gz"))
    if not sources:
        sys.exit(f"shipped corpus not found under {SHIPPED}")
    text = {src: gzip.decompress(src.read_bytes()) for src in sources}
    per_source = statistics.mean(len(t) for t in text.values())
    count = max(files, math.ceil(size / per_source))
    sequence = [sources[i % len(sources)] for i in range(count)]
    plain = [work / f"plain-{i:03d}.txt" for i in range(files)]
    packed = [work / f"gz-{i:03d}.txt.gz" for i in range(files)]
    for i in range(files):
        group = sequence[i * count // files : (i + 1) * count // files]
        with open(plain[i], "wb") as p, open(packed[i], "wb") as g:
            for src in group:
                p.write(text[src])
                g.write(src.read_bytes())
    return plain, packed, count


def set_fingerprint(paths: list[Path]) -> tuple[int, int, int]:
    total = lines = acc = 0
    for p in paths:
        t, n, a = fingerprint(p)
        total, lines, acc = total + t, lines + n, (acc + a) % (1 << 61)
    return total, lines, acc


def start_cluster(work: Path) -> tuple[list[subprocess.Popen], str]:
    """``dask scheduler`` and ``dask worker`` (2 processes, 1 thread each), loopback only."""
    dask = str(Path(sys.executable).with_name("dask"))
    sched_file = work / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = open(work / "dask.log", "wb")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--dashboard-address", ":0", "--scheduler-file",
                               str(sched_file)], env=env, stdout=log, stderr=log)]
    for _ in range(300):
        if sched_file.exists() and sched_file.stat().st_size:
            break
        time.sleep(0.1)
    address = json.loads(sched_file.read_text())["address"]
    procs.append(subprocess.Popen([dask, "worker", address, "--nworkers", "2", "--nthreads",
                                   "1", "--host", "127.0.0.1", "--dashboard-address", ":0",
                                   "--memory-limit", "0", "--local-directory", str(work)],
                                  env=env, stdout=log, stderr=log))
    from distributed import Client

    with Client(address, timeout="60s") as c:
        c.wait_for_workers(2, timeout=120)
    return procs, address


def cluster_cpu(procs: list[subprocess.Popen]) -> float:
    """User+system CPU seconds of the cluster's processes so far."""
    total = 0.0
    for p in procs:
        try:
            root = psutil.Process(p.pid)
            for q in [root, *root.children(recursive=True)]:
                t = q.cpu_times()
                total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1G", help="decompressed corpus size")
    p.add_argument("--files", type=int, default=16, help="input shards")
    p.add_argument("--memory", default="128M")
    p.add_argument("--shard-lines", type=int, default=400000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workdir", default="/tmp")
    p.add_argument("--record", action="store_true", help="append to results/shuffle.jsonl")
    args = p.parse_args()
    from kexue.data.sizes import parse_size

    work = Path(args.workdir) / f"kexue-shuffle-cluster-bench-{os.getpid()}"
    (work / "out").mkdir(parents=True)
    out = work / "out"
    py = sys.executable
    load_start = os.getloadavg()
    procs: list[subprocess.Popen] = []
    try:
        plain, packed, rounds = make_corpus(work, parse_size(args.size), args.files)
        size = sum(x.stat().st_size for x in plain)
        packed_size = sum(x.stat().st_size for x in packed)
        want = set_fingerprint(plain)
        procs, address = start_cluster(work)
        common = ["-o", str(out / "part-{i:03d}.txt"), "--memory", args.memory, "--seed", "0",
                  "-q", "--tmpdir", str(work), "--shard-lines", str(args.shard_lines)]
        gz = " ".join(f"'{x}'" for x in packed)
        kx = f"'{py}' -m kexue shuffle - {' '.join(repr(x) for x in common)}"
        competitors = {
            "gzip -dc > /dev/null (decompression alone)": ["sh", "-c", f"gzip -dc {gz} > "
                                                                       "/dev/null"],
            "kexue shuffle plain shards": [py, "-m", "kexue", "shuffle", *map(str, plain),
                                           *common],
            "kexue shuffle gzip shards": [py, "-m", "kexue", "shuffle", *map(str, packed),
                                          *common],
            "kexue shuffle gzip shards --decompress-threads 1":
                [py, "-m", "kexue", "shuffle", *map(str, packed), *common,
                 "--decompress-threads", "1"],
            "gzip -dc gzip shards \\| kexue shuffle -": ["sh", "-c", f"gzip -dc {gz} | {kx}"],
            "Dask, 2 local workers, gzip shards":
                [py, "-m", "kexue", "shuffle", "--scheduler", address,
                 f"file://{work}/gz-*.txt.gz", "-o", f"file://{out}/part-{{i:03d}}.txt",
                 "--memory", args.memory, "--seed", "0", "-q", "--shard-lines",
                 str(args.shard_lines)],
        }
        results: dict[str, list[tuple[float, float, int, int]]] = {k: [] for k in competitors}
        for r in range(args.repeats):
            for name, argv in competitors.items():
                before = cluster_cpu(procs) if name.startswith("Dask") else 0.0
                wall, cpu, rss, pss = measure(argv, work)
                if name.startswith("Dask"):
                    cpu += cluster_cpu(procs) - before
                results[name].append((wall, cpu, rss, pss))
                made = sorted(out.iterdir())
                if made:
                    if r == 0:
                        assert set_fingerprint(made) == want, f"{name}: not a permutation"
                    for f in made:
                        f.unlink()
                print(f"  run {r + 1} {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, load "
                      f"{os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    load_end = os.getloadavg()

    wall = {k: statistics.median(r[0] for r in v) for k, v in results.items()}
    cpu = {k: statistics.median(r[1] for r in v) for k, v in results.items()}
    pipe = wall["gzip -dc gzip shards \\| kexue shuffle -"]
    single = wall["kexue shuffle gzip shards"]
    print(f"\n{size / 1e6:.0f} MB of shipped text ({rounds} copies of the shipped 16 MB "
          f"shards) in {args.files} shards, as shipped gzip: {packed_size / 1e6:.0f} MB; "
          f"--memory {args.memory}, output "
          f"shards of {args.shard_lines} lines; median of {args.repeats} runs; "
          f"{os.cpu_count()} cores; load average {load_start[0]:.1f} at start, "
          f"{load_end[0]:.1f} at end\n")
    print("| command | wall s (median) | all runs | MB/s (text) | CPU s | × pipe | "
          "× single machine (gzip) |")
    print("|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        print(f"| {name} | {wall[name]:.2f} | {' / '.join(f'{r[0]:.1f}' for r in runs)} | "
              f"{size / 1e6 / wall[name]:.0f} | {cpu[name]:.2f} | {wall[name] / pipe:.2f} | "
              f"{wall[name] / single:.2f} |")
    if not args.record:
        return
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    base = {"data": f"shared/data/pretrain_zh/train-*.txt.gz: {size / 1e6:.0f} MB of text "
                    f"({rounds} copies of the 5 shipped 16 MB shards, byte-concatenated into "
                    f"{args.files} gzip shards; the shipped text is 82 MB)",
            "command": f"python benchmarks/shuffle/cluster.py --size {args.size} "
                       f"--files {args.files} --memory {args.memory} --shard-lines "
                       f"{args.shard_lines} --repeats {args.repeats} --record",
            "commit": commit, "date": datetime.date.today().isoformat(),
            "machine": "2-core CPU"}
    notes = (f"medians of {args.repeats} alternating runs; load average "
             f"{load_start[0]:.1f} at start, {load_end[0]:.1f} at end (2 cores)")
    dask_name = "Dask, 2 local workers, gzip shards"
    rows = [
        ("kexue shuffle wall time on gzip shards / on the same text piped from gzip -dc",
         single / pipe, "ratio"),
        ("kexue shuffle wall time on gzip shards / on the plain shards",
         single / wall["kexue shuffle plain shards"], "ratio"),
        ("kexue shuffle wall time on gzip shards, decompression on a background thread "
         "(--decompress-threads 1) / on the reading thread (the 2-core default)",
         wall["kexue shuffle gzip shards --decompress-threads 1"] / single, "ratio"),
        ("Dask job (2 local worker processes, 1 thread each) wall time / single-machine "
         "kexue shuffle, same gzip shards", wall[dask_name] / single, "ratio"),
        ("Dask job CPU time (client + scheduler + workers) / single-machine CPU time, same "
         "gzip shards", cpu[dask_name] / cpu["kexue shuffle gzip shards"], "ratio"),
        ("Dask job throughput per worker process (text MB/s / 2 workers)",
         size / 1e6 / wall[dask_name] / 2, "MB/s"),
        ("single-machine kexue shuffle throughput on gzip shards", size / 1e6 / single,
         "MB/s"),
        ("CPU time of kexue shuffle on gzip shards / of gzip -dc | kexue shuffle - (both "
         "ends)",
         cpu["kexue shuffle gzip shards"] / cpu["gzip -dc gzip shards \\| kexue shuffle -"],
         "ratio"),
        ("CPU time of kexue shuffle on gzip shards with --decompress-threads 1 / with the "
         "2-core default (0)", cpu["kexue shuffle gzip shards --decompress-threads 1"]
         / cpu["kexue shuffle gzip shards"], "ratio"),
        ("single-machine kexue shuffle on gzip shards: text MB per CPU second",
         size / 1e6 / cpu["kexue shuffle gzip shards"], "MB/CPU-s"),
        ("Dask job on gzip shards: text MB per CPU second (client, scheduler and workers, "
         "idle heartbeats included)", size / 1e6 / cpu[dask_name], "MB/CPU-s"),
    ]
    with open(REPO / "results" / "shuffle.jsonl", "a") as f:
        for claim, value, unit in rows:
            f.write(json.dumps({"claim": claim, "value": round(value, 3), "unit": unit, **base,
                                "notes": notes}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
