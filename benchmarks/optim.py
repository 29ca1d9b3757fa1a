"""Step time and optimizer-state memory on a BERT-base-sized parameter set.

kexue AdaFactor vs transformers Adafactor vs torch.optim.Adafactor; kexue AdaX vs
torch.optim.Adam (for-loop and foreach). Prints a Markdown table.

    python benchmarks/optim.py [--repeats 7] [--threads N] [--scale 1.0]

The parameter set is BERT-base's: word 21128x768, position 512x768, token type 2x768
embeddings (+ LayerNorm); 12 layers of Q/K/V/O 768x768, FFN 768x3072 and 3072x768, their
biases and two LayerNorms; the pooler (about 102M numbers). Every optimizer steps the same
tensors with the same gradients; competitors are alternated and each cell is the median of
``--repeats`` timed steps (after one untimed warm-up step that creates the state).
"Reused scratch" is the one buffer (as large as the largest gradient) that kexue's optimizers
keep between steps instead of allocating full-size temporaries each step; the references
allocate such temporaries transiently inside every step. ``--threads`` defaults to 1: on the
shared 2-core machine two intra-op threads were dominated by contention.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kexue.optim import AdaFactor, AdaX  # noqa: E402


def bert_base_shapes(scale: float = 1.0) -> list[tuple[int, ...]]:
    h = max(8, int(768 * scale))
    f = 4 * h
    shapes: list[tuple[int, ...]] = [(21128, h), (512, h), (2, h), (h,), (h,)]
    for _ in range(12):
        shapes += [(h, h), (h,)] * 4  # Q, K, V, O
        shapes += [(h,), (h,)]  # attention LayerNorm
        shapes += [(f, h), (f,), (h, f), (h,)]  # FFN (torch Linear layout: out x in)
        shapes += [(h,), (h,)]  # FFN LayerNorm
    shapes += [(h, h), (h,)]  # pooler
    return shapes


def state_bytes(opt: torch.optim.Optimizer, params, only_2d: bool = False) -> int:
    total = 0
    for p in params:
        if only_2d and p.dim() != 2:
            continue
        for value in opt.state.get(p, {}).values():
            if torch.is_tensor(value) and value.dim() > 0:
                total += value.numel() * value.element_size()
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: default)")
    parser.add_argument("--scale", type=float, default=1.0, help="hidden size factor")
    parser.add_argument("--only", default="", help="comma-separated competitor names")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers.optimization import Adafactor as HFAdafactor

    torch.manual_seed(0)
    shapes = bert_base_shapes(args.scale)
    params = [torch.nn.Parameter(torch.randn(s) * 0.02) for s in shapes]
    grads = [torch.randn(s) * 1e-3 for s in shapes]
    n = sum(p.numel() for p in params)
    competitors = {
        "kexue AdaFactor": lambda: AdaFactor(params, lr=1e-3),
        "transformers Adafactor": lambda: HFAdafactor(params, lr=1e-3, relative_step=False,
                                                      scale_parameter=True, warmup_init=False),
        "torch.optim.Adafactor": lambda: torch.optim.Adafactor(params, lr=1e-3),
        "torch.optim.Adafactor (foreach)": lambda: torch.optim.Adafactor(params, lr=1e-3,
                                                                         foreach=True),
        "kexue AdaX": lambda: AdaX(params, lr=1e-3),
        "torch.optim.Adam": lambda: torch.optim.Adam(params, lr=1e-3),
        "torch.optim.Adam (foreach)": lambda: torch.optim.Adam(params, lr=1e-3, foreach=True),
    }
    if args.only:
        keep = {s.strip() for s in args.only.split(",")}
        competitors = {k: v for k, v in competitors.items() if k in keep}
    for p, g in zip(params, grads):
        p.grad = g
    opts = {}
    for name, make in competitors.items():
        opts[name] = make()
        opts[name].step()  # warm-up: creates the state
    times: dict[str, list[float]] = {name: [] for name in opts}
    for _ in range(args.repeats):
        for name, opt in opts.items():  # alternate the competitors
            start = time.perf_counter()
            opt.step()
            times[name].append(time.perf_counter() - start)
    adam = opts.get("torch.optim.Adam")
    adam_2d = state_bytes(adam, params, only_2d=True) if adam else 0
    print(f"BERT-base-sized parameter set: {len(params)} tensors, {n / 1e6:.1f}M numbers, "
          f"float32; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"median of {args.repeats} steps\n")
    print("| optimizer | step time (median, ms) | min (ms) | state (MiB) | 2-D weights' state "
          "(MiB) | 2-D state / Adam's | reused scratch (MiB) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, opt in opts.items():
        total = state_bytes(opt, params) / 2**20
        two_d = state_bytes(opt, params, only_2d=True)
        ratio = f"{100 * two_d / adam_2d:.3f}%" if adam_2d else "n/a"
        scratch = sum(b.numel() * b.element_size()
                      for b in getattr(opt, "_workspace", {}).values()) / 2**20
        print(f"| {name} | {1e3 * statistics.median(times[name]):.0f} | "
              f"{1e3 * min(times[name]):.0f} | {total:.1f} | {two_d / 2**20:.2f} | {ratio} | "
              f"{scratch:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
