"""Flooding's train / test loss curves on the sentiment set (char-CNN from scratch).

    python experiments/objectives_flooding.py [--levels 0,0.1,0.2] [--seeds 3]

Trains the same CharCNN on a 2,000-sentence subset of ../shared/data/sentiment for many
epochs (so it over-fits), once without flooding (b = 0) and once per flood level b, and logs
the full-train-subset and test cross-entropy after every epoch. Writes
docs/img/objectives_flooding.png and a table into docs/objectives.md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from objectives_common import (
    IMG,
    CharCNN,
    char_vocab,
    encode,
    read_sentiment,
    seed_all,
    write_section,
)

from kexue.objectives import flooding


def evaluate(model, ids, y, batch=512):
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(ids[i : i + batch]) for i in range(0, len(ids), batch)])
    model.train()
    return float(F.cross_entropy(logits, y)), float((logits.argmax(-1) == y).float().mean())


def run(b, seed, data, vocab_size, epochs, lr):
    (xtr, ytr), (xte, yte) = data
    gen = seed_all(seed)
    model = CharCNN(vocab_size, 2)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    curve = []
    for _ in range(epochs):
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(perm), 64):
            idx = perm[i : i + 64]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            (flooding(loss, b) if b > 0 else loss).backward()
            opt.step()
        curve.append(evaluate(model, xtr, ytr) + evaluate(model, xte, yte))
    return curve


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--levels", default="0,0.1,0.2")
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    train, test = read_sentiment("train"), read_sentiment("test")
    g = torch.Generator().manual_seed(1234)
    sub = [train[i] for i in torch.randperm(len(train), generator=g)[: args.train].tolist()]
    vocab = char_vocab([t for t, _ in sub])

    def tensors(rows):
        return encode([t for t, _ in rows], vocab, 100), torch.tensor([y for _, y in rows])

    data = (tensors(sub), tensors(test))
    levels = [float(b) for b in args.levels.split(",")]
    runs = {b: [] for b in levels}
    for seed in range(args.seed, args.seed + args.seeds):
        for b in levels:  # alternate the levels within each seed
            runs[b].append(run(b, seed, data, len(vocab), args.epochs, args.lr))
            last = runs[b][-1][-1]
            print(
                f"seed {seed} b={b}: final train loss {last[0]:.3f}, test loss {last[2]:.3f}, "
                f"test acc {last[3]:.4f}",
                flush=True,
            )
    # per-epoch means over seeds
    curves = {
        b: [
            tuple(statistics.mean(r[e][j] for r in rs) for j in range(4))
            for e in range(args.epochs)
        ]
        for b, rs in runs.items()
    }
    lines = [
        f"Sentiment char-CNN, {args.train} training sentences, {args.epochs} epochs, Adam "
        f"{args.lr}, batch 64, mean over seeds {args.seed}–{args.seed + args.seeds - 1}; "
        f"losses are the mean cross-entropy over the whole "
        f"training subset (eval mode, no dropout) and over the 2,111 test sentences. "
        f"{(time.time() - t0) / 60:.1f} wall-clock minutes on the shared 2-core machine.",
        "",
        "| flood level b | final train loss | final test loss | min test loss (epoch) "
        "| final test acc (± std over seeds) | best-epoch test acc |",
        "|---|---|---|---|---|---|",
    ]

    def sd(b):
        finals = [one[-1][3] for one in runs[b]]
        return statistics.stdev(finals) if len(finals) > 1 else 0.0

    for b, c in curves.items():
        test_losses = [r[2] for r in c]
        k = min(range(len(c)), key=lambda i: test_losses[i])
        lines.append(
            f"| {'none' if b == 0 else f'{b:g}'} | {c[-1][0]:.3f} | {c[-1][2]:.3f} | "
            f"{test_losses[k]:.3f} ({k + 1}) | {100 * c[-1][3]:.2f} ± {100 * sd(b):.2f} | "
            f"{100 * statistics.mean(max(r[3] for r in one) for one in runs[b]):.2f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.no_write:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = range(1, args.epochs + 1)
    for b, c in curves.items():
        label = "no flooding" if b == 0 else f"b = {b:g}"
        axes[0].plot(epochs, [r[0] for r in c], label=label)
        axes[1].plot(epochs, [r[2] for r in c], label=label)
    for ax, title in zip(axes, ("train loss (whole subset)", "test loss")):
        title += f", mean of {args.seeds} seeds"
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.legend()
    for b in levels:
        if b > 0:
            axes[0].axhline(b, color="gray", lw=0.5, ls="--")
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    tmp = IMG / "objectives_flooding.tmp.png"
    fig.savefig(tmp, dpi=110)
    tmp.replace(IMG / "objectives_flooding.png")
    write_section("flooding", table + "\n\n![flooding curves](img/objectives_flooding.png)")


if __name__ == "__main__":
    main()
