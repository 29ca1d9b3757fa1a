"""Benchmark `kexue shuffle` against GNU shuf, the article's method and the copy-twice floor.

Generates a line corpus (default 1 GiB of ~1 KB JSON lines of real Chinese text, see
make_corpus.py) under --workdir (or uses --corpus), runs every competitor --repeats times in
alternation, and prints a Markdown table of median wall time, MB/s, CPU time and peak RSS (GNU
time's maximum resident set size of the largest process) and the peak summed PSS of all its
processes (sampled every 20 ms from /proc/PID/smaps_rollup). The generated corpus, outputs and
temporary files are deleted at the end. The floor is `cp corpus tmp && cp tmp out`: the least I/O a
bounded-memory shuffle must do (every byte read and written twice; cp copies inside the
kernel).

    python benchmarks/shuffle/bench.py --size 1G --memory 128M --repeats 3
    python benchmarks/shuffle/bench.py --corpus /tmp/c.jsonl --only floor,"kexue shuffle"
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TIME = shutil.which("time") or "/usr/bin/time"


def _pss(pid: int) -> int:
    """PSS of one process from /proc/PID/smaps_rollup (the kernel sums it: cheap to sample)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return sum(int(line.split()[1]) for line in f if line.startswith("Pss:")) * 1024
    except (OSError, ValueError, IndexError):
        return 0


def tree_pss(proc: psutil.Process) -> int:
    """Summed PSS of a process and its descendants (shared pages counted once overall)."""
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    return sum(_pss(p.pid) for p in procs)


def measure(argv: list[str], workdir: Path) -> tuple[float, float, int, int]:
    """Run ``argv`` under GNU time: (wall s, user+sys s, peak RSS of the largest process,
    peak summed PSS of all its processes sampled every 20 ms)."""
    out = workdir / "time.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    proc = subprocess.Popen([TIME, "-f", "%e %U %S %M", "-o", str(out), *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watched = psutil.Process(proc.pid)
    peak_pss = 0
    while proc.poll() is None:
        peak_pss = max(peak_pss, tree_pss(watched))
        time.sleep(0.02)
    wall = time.perf_counter() - start
    err = proc.stderr.read()
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{err.decode(errors='replace')}")
    _, user, sys_, rss_kb = out.read_text().split()[-4:]
    return wall, float(user) + float(sys_), int(rss_kb) * 1024, peak_pss


def fingerprint(path: Path) -> tuple[int, int, int]:
    """(bytes, lines, order-independent checksum of the lines)."""
    total = lines = acc = 0
    with open(path, "rb") as f:
        tail = b""
        while data := f.read(1 << 24):
            parts = (tail + data).split(b"\n")
            tail = parts.pop()
            for line in parts:
                acc = (acc + zlib.crc32(line) * 2654435761 + len(line)) % (1 << 61)
            lines += len(parts)
            total += len(data)
    assert tail == b"", "output must end with a newline"
    return total, lines, acc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1G")
    p.add_argument("--mean-bytes", type=int, default=1000, help="mean line length of the corpus")
    p.add_argument("--memory", default="128M")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workdir", default="/tmp")
    p.add_argument("--skip", nargs="*", default=[], help="competitor names to leave out")
    p.add_argument("--only", default="",
                   help="comma-separated name parts: run only competitors whose name has one")
    p.add_argument("--corpus", default=None,
                   help="use this existing corpus (kept) instead of generating one")
    args = p.parse_args()
    if not Path(TIME).exists():
        sys.exit("GNU time (/usr/bin/time) is needed to measure peak RSS")

    work = Path(args.workdir) / f"kexue-shuffle-bench-{os.getpid()}"
    work.mkdir(parents=True)
    corpus, out, tmp = work / "corpus.jsonl", work / "out.jsonl", work / "copy.tmp"
    py = sys.executable
    load_start = os.getloadavg()[0]
    try:
        if args.corpus:
            corpus = Path(args.corpus).resolve()
        else:
            subprocess.run([py, str(HERE / "make_corpus.py"), str(corpus), "--size", args.size,
                            "--mean-bytes", str(args.mean_bytes)], check=True)
        size = corpus.stat().st_size
        want = fingerprint(corpus)
        kx = [py, "-m", "kexue", "shuffle", str(corpus), "-o", str(out), "--memory",
              args.memory, "--seed", "0", "-q", "--tmpdir", str(work)]
        competitors = {
            "copy twice (floor)": ["sh", "-c", f"cp '{corpus}' '{tmp}' && cp '{tmp}' '{out}'"],
            f"kexue shuffle --memory {args.memory}": kx,
            f"kexue shuffle --memory {args.memory} -j 1": [*kx, "-j", "1"],
            f"kexue shuffle --memory {args.memory} -j 1 --no-threads": [*kx, "-j", "1",
                                                                        "--no-threads"],
            "GNU shuf (in memory)": ["shuf", str(corpus), "-o", str(out)],
            f"article method, {args.memory}": [py, str(HERE / "article_method.py"), str(corpus),
                                               str(out), "--memory", args.memory, "--tmpdir",
                                               str(work)],
        }
        only = [x for x in args.only.split(",") if x]
        competitors = {k: v for k, v in competitors.items()
                       if not any(s in k for s in args.skip)
                       and (not only or any(s in k for s in only))}
        results: dict[str, list[tuple[float, float, int, int]]] = {k: [] for k in competitors}
        for r in range(args.repeats):
            for name, argv in competitors.items():  # alternate the competitors
                results[name].append(measure(argv, work))
                if r == 0:
                    got = fingerprint(out)
                    assert got == want, f"{name}: output is not a permutation of the input"
                out.unlink()
                tmp.unlink(missing_ok=True)
                print(f"  run {r + 1} {name}: {results[name][-1][0]:.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    floors = results.get("copy twice (floor)")
    floor = statistics.median(r[0] for r in floors) if floors else float("nan")
    shuf = [statistics.median(r[0] for r in v) for k, v in results.items()
            if k.startswith("GNU shuf")]
    print(f"\n{size / 1e6:.0f} MB corpus, {want[1]} lines ({size / want[1]:.0f} B/line), "
          f"median of {args.repeats} runs, {os.cpu_count()} cores "
          f"(load average {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end)\n")
    print("| command | wall s (median) | all runs | MB/s | CPU s | peak RSS MB | peak PSS MB, "
          "all processes | × floor | × shuf |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        walls = [r[0] for r in runs]
        wall = statistics.median(walls)
        cpu = statistics.median(r[1] for r in runs)
        rss = max(r[2] for r in runs)
        pss = max(r[3] for r in runs)
        ratio_shuf = f"{wall / shuf[0]:.2f}" if shuf else "-"
        print(f"| {name} | {wall:.2f} | {' / '.join(f'{w:.1f}' for w in walls)} | "
              f"{size / 1e6 / wall:.0f} | {cpu:.2f} | {rss / 1e6:.0f} | {pss / 1e6:.0f} | "
              f"{wall / floor:.2f} | {ratio_shuf} |")


if __name__ == "__main__":
    main()
