"""Forward throughput and peak memory: kexue vs transformers on BERT-base / RoFormer-base.

Usage (from the repository root; prints a Markdown table):

    python benchmarks/models.py
    python benchmarks/models.py --layers 2 --repeats 2      # a quick smoke run

What is measured, for each family (``bert``: ``BertModel``; ``roformer``: ``RoFormerModel``,
sized like the base models: hidden 768, 12 layers, 12 heads, intermediate 3072, vocab 21128),
each length (128, 512) at batch 8, float32, CPU, under ``torch.inference_mode``:

- the *same* random weights: transformers builds the model from a seeded config and saves it
  (safetensors) to a temporary directory; kexue loads that checkpoint with
  ``build_transformer_model(checkpoint_path=..., model=family)`` and transformers loads it with
  ``from_pretrained(..., attn_implementation="sdpa" | "eager")``. transformers' RoFormer has
  only the eager path (``_supports_sdpa`` is False), so its sdpa column is "n/a". Before
  timing, the kexue and transformers outputs are compared (max abs difference is printed), so
  the table compares the same computation.
- inputs: random token ids, all positions real (no padding), segment ids 0.
- throughput: one process per family holds all competitors; after one untimed warm-up
  forward each, ``--repeats`` rounds time one forward per competitor, the order rotating every
  round (so a load spike on the shared machine hits each in turn); tokens/s = batch * length /
  median seconds.
- peak memory: each (family, competitor, length) in a fresh subprocess: load the model, run
  one tiny forward (batch 1, length 8: lazy imports and one-time set-up), run ``gc``, reset
  the kernel's peak-RSS counter (``/proc/self/clear_refs`` <- 5), run one forward, and report
  ``VmHWM - VmRSS`` at the reset, i.e. the resident-memory growth over the model-loaded
  baseline (activations and workspace). Without ``clear_refs`` (non-Linux) it falls back to
  ``ru_maxrss`` growth over the loaded baseline, which may under-count when loading peaked
  higher than the forward.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

IMPLS = ("kexue", "hf-sdpa", "hf-eager")
BASE = dict(
    vocab_size=21128,
    hidden_size=768,
    num_attention_heads=12,
    intermediate_size=3072,
    hidden_act="gelu",
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    type_vocab_size=2,
)


def hf_class(family: str):
    import transformers

    return {"bert": transformers.BertModel, "roformer": transformers.RoFormerModel}[family]


def make_checkpoint(family: str, layers: int, folder: Path) -> None:
    import transformers

    torch.manual_seed(0)
    if family == "bert":
        config = transformers.BertConfig(
            num_hidden_layers=layers, max_position_embeddings=512, **BASE
        )
    else:
        config = transformers.RoFormerConfig(
            num_hidden_layers=layers, embedding_size=768, max_position_embeddings=1536, **BASE
        )
    hf_class(family)(config).eval().save_pretrained(folder)


def supported(family: str, impl: str) -> bool:
    return not (family == "roformer" and impl == "hf-sdpa")


def load(family: str, impl: str, folder: Path) -> torch.nn.Module:
    if impl == "kexue":
        from kexue.models import build_transformer_model

        return build_transformer_model(checkpoint_path=folder, model=family).eval()
    attn = impl.removeprefix("hf-")
    return (
        hf_class(family)
        .from_pretrained(folder, attn_implementation=attn, dtype=torch.float32)
        .eval()
    )


def forward(model: torch.nn.Module, impl: str, ids: torch.Tensor) -> torch.Tensor:
    segments = torch.zeros_like(ids)
    if impl == "kexue":
        out = model(ids, segments)
        return out.hidden
    return model(input_ids=ids, token_type_ids=segments).last_hidden_state


def inputs(batch: int, length: int) -> torch.Tensor:
    return torch.randint(
        1, BASE["vocab_size"], (batch, length), generator=torch.Generator().manual_seed(length)
    )


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def worker_memory(family: str, impl: str, folder: Path, batch: int, length: int) -> dict:
    model = load(family, impl, folder)
    with torch.inference_mode():  # one tiny forward: lazy imports and one-time set-up
        forward(model, impl, inputs(1, 8))
    ids = inputs(batch, length)
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        baseline = _status_kb("VmRSS")
        method = "VmHWM-after-clear_refs"
    except OSError:
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        method = "ru_maxrss"
    start = time.perf_counter()
    with torch.inference_mode():
        forward(model, impl, ids)
    seconds = time.perf_counter() - start
    if method == "ru_maxrss":
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    else:
        peak = _status_kb("VmHWM")
    return {
        "baseline_mb": baseline / 1024,
        "growth_mb": (peak - baseline) / 1024,
        "seconds": seconds,
        "method": method,
    }


def worker_speed(
    family: str, impls: list[str], folder: Path, batch: int, lengths: list[int], repeats: int
) -> dict:
    models = {impl: load(family, impl, folder) for impl in impls}
    result: dict = {"times": {}, "max_abs_diff": {}}
    with torch.inference_mode():
        for length in lengths:
            ids = inputs(batch, length)
            outs = {impl: forward(models[impl], impl, ids) for impl in impls}  # warm-up
            ref = next(i for i in impls if i != "kexue") if len(impls) > 1 else None
            if "kexue" in impls and ref is not None:
                diff = (outs["kexue"] - outs[ref]).abs().max().item()
                result["max_abs_diff"][str(length)] = diff
                if diff > 1e-3:
                    raise RuntimeError(f"kexue and {ref} disagree by {diff} at length {length}")
            del outs
            times: dict[str, list[float]] = {impl: [] for impl in impls}
            for r in range(repeats):
                order = impls[r % len(impls) :] + impls[: r % len(impls)]
                for impl in order:
                    start = time.perf_counter()
                    forward(models[impl], impl, ids)
                    times[impl].append(time.perf_counter() - start)
            result["times"][str(length)] = times
    return result


def run_worker(args: list[str]) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def kexue_source() -> str:
    """Where ``kexue`` is imported from, with the git commit (and whether it has local edits)."""
    try:
        import kexue.models
    except ImportError as exc:
        return f"not importable ({exc})"
    root = Path(kexue.models.__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%h %cI"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "kexue"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(root)
    return f"{root} @ {head}" + (" + uncommitted edits" if dirty else "")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import transformers

    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, kexue {kexue_source()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), transformers {transformers.__version__}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--families", nargs="+", default=["bert", "roformer"], choices=["bert", "roformer"]
    )
    parser.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    parser.add_argument("--lengths", nargs="+", type=int, default=[128, 512])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the peak-memory subprocesses"
    )
    parser.add_argument("--worker", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        kind, rest = args.worker[0], json.loads(args.worker[1])
        if kind == "memory":
            out = worker_memory(
                rest["family"], rest["impl"], Path(rest["folder"]), rest["batch"], rest["length"]
            )
        else:
            out = worker_speed(
                rest["family"],
                rest["impls"],
                Path(rest["folder"]),
                rest["batch"],
                rest["lengths"],
                rest["repeats"],
            )
        print(json.dumps(out))
        return 0

    for length in args.lengths:
        if length > 512:
            raise ValueError(f"length {length} exceeds BERT's 512 positions")
    print(f"machine: {machine()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="kexue-bench-") as tmp:
        for family in args.families:
            folder = Path(tmp) / family
            make_checkpoint(family, args.layers, folder)
            impls = [i for i in args.impls if supported(family, i)]
            common = {"family": family, "folder": str(folder), "batch": args.batch}
            speed = run_worker(
                [
                    "speed",
                    json.dumps(
                        {**common, "impls": impls, "lengths": args.lengths, "repeats": args.repeats}
                    ),
                ]
            )
            print(
                f"{family}: kexue vs transformers max abs diff {speed['max_abs_diff']}", flush=True
            )
            for length in args.lengths:
                row = {"family": family, "length": length}
                for impl in impls:
                    times = speed["times"][str(length)][impl]
                    row[impl] = args.batch * length / statistics.median(times)
                    row[impl + " spread"] = (min(times), max(times))
                    if not args.no_memory:
                        mem = run_worker(
                            ["memory", json.dumps({**common, "impl": impl, "length": length})]
                        )
                        row[impl + " MB"] = mem["growth_mb"]
                        row[impl + " base MB"] = mem["baseline_mb"]
                        row["method"] = mem["method"]
                rows.append(row)
                print(f"  done {family} length {length}", file=sys.stderr, flush=True)
    print(f"after the run: load average {os.getloadavg()[0]:.1f}")
    print()
    print(table(rows, args))
    return 0


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def table(rows: list[dict], args: argparse.Namespace) -> str:
    impls = list(args.impls)
    head = ["model", "length"] + [f"{i} tok/s" for i in impls]
    if "kexue" in impls:
        head.append("kexue / fastest HF")
    if not args.no_memory:
        head += [f"{i} peak MB" for i in impls]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [f"{row['family']}-base ({args.layers} layers)", str(row["length"])]
        cells += [_fmt(row.get(i), ".0f") for i in impls]
        if "kexue" in impls:
            hf = [row[i] for i in impls if i != "kexue" and i in row]
            cells.append(_fmt(row["kexue"] / max(hf), ".2f") if hf else "n/a")
        if not args.no_memory:
            cells += [_fmt(row.get(i + " MB"), ".0f") for i in impls]
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        f"batch {args.batch}, float32, CPU, torch.inference_mode; tok/s = batch*length / "
        f"median of {args.repeats} alternating forwards"
    )
    if not args.no_memory:
        note += (
            "; peak MB = resident-memory growth over the model-loaded baseline during one "
            "forward, fresh process per cell"
        )
    detail = [
        "| model | length | competitor | median s | min–max s | loaded RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        for i in impls:
            if i not in row:
                continue
            lo, hi = row[i + " spread"]
            median = args.batch * row["length"] / row[i]
            base = _fmt(row.get(i + " base MB"), ".0f")
            cells = [
                row["family"],
                str(row["length"]),
                i,
                f"{median:.2f}",
                f"{lo:.2f}–{hi:.2f}",
                base,
            ]
            detail.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + note + "\n\n" + "\n".join(detail)


if __name__ == "__main__":
    raise SystemExit(main())
