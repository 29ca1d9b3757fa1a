"""Adam vs AdaX vs AdaFactor on real data: a character-level CNN sentiment classifier.

    python experiments/optim_compare.py [--epochs 2] [--lrs 1e-3,3e-3,1e-2] [--seed 0]

Data: ``<repo>/../shared/data/sentiment/sentiment.{train,valid,test}.data`` (text<TAB>label,
Su Jianlin's binary sentiment set, texts cut at 80 characters). Model: character embedding
(128) -> Conv1d(128->128, k=3) -> ReLU -> max over time -> Linear(128->2), so AdaFactor
factors the embedding and the conv kernel; every optimizer starts from the same weights and
sees the same batches. For each optimizer and learning rate it records the training loss
(per step) and the validation loss/accuracy (per epoch); the learning rate with the best final
validation loss is reported with its test accuracy. Writes ``docs/img/optim_compare.png`` and
replaces the table between the ``optim_compare`` markers in ``docs/optim.md``.
Nothing is asserted about who wins.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kexue.optim import AdaFactor, AdaX  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "sentiment"
MAX_LEN = 80
START, END = "<!-- optim_compare:start -->", "<!-- optim_compare:end -->"


def load(split: str) -> list[tuple[str, int]]:
    rows = []
    with open(DATA / f"sentiment.{split}.data", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            text, sep, label = line.rstrip("\n").rpartition("\t")
            if not sep or label not in ("0", "1"):
                raise ValueError(f"{split} line {n}: expected text<TAB>0|1")
            rows.append((text[:MAX_LEN], int(label)))
    return rows


def encode(rows, vocab):
    ids = torch.zeros(len(rows), MAX_LEN, dtype=torch.long)
    for i, (text, _) in enumerate(rows):
        row = [vocab.get(c, 1) for c in text]
        if row:
            ids[i, : len(row)] = torch.tensor(row)
    return ids, torch.tensor([y for _, y in rows])


class CharCNN(torch.nn.Module):
    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(vocab_size, 128, padding_idx=0)
        self.conv = torch.nn.Conv1d(128, 128, 3, padding=1)
        self.out = torch.nn.Linear(128, 2)

    def forward(self, ids):
        h = self.conv(self.embed(ids).transpose(1, 2)).relu()
        h = h.masked_fill((ids == 0).unsqueeze(1), -1e4).amax(dim=2)
        return self.out(h)


OPTIMIZERS = {
    "Adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
    "AdaX": lambda params, lr: AdaX(params, lr=lr),
    "AdaFactor": lambda params, lr: AdaFactor(params, lr=lr),
}


def evaluate(model, ids, y, batch=512):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            logits = model(ids[i:i + batch])
            loss += float(torch.nn.functional.cross_entropy(logits, y[i:i + batch],
                                                             reduction="sum"))
            correct += int((logits.argmax(1) == y[i:i + batch]).sum())
    model.train()
    return loss / len(y), correct / len(y)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lrs", default="1e-3,3e-3,1e-2")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(f"real data not found: {DATA} (shared/data must sit beside the checkout)",
              file=sys.stderr)
        return 2
    lrs = [float(x) for x in args.lrs.split(",")]
    torch.set_num_threads(args.threads)
    from tqdm import tqdm

    train, valid, test = load("train"), load("valid"), load("test")
    chars = sorted({c for t, _ in train for c in t})
    vocab = {c: i + 2 for i, c in enumerate(chars)}  # 0 pad, 1 unknown
    tr_ids, tr_y = encode(train, vocab)
    va_ids, va_y = encode(valid, vocab)
    te_ids, te_y = encode(test, vocab)
    torch.manual_seed(args.seed)
    init = CharCNN(len(vocab) + 2).state_dict()
    gen = torch.Generator().manual_seed(args.seed)
    orders = [torch.randperm(len(tr_y), generator=gen) for _ in range(args.epochs)]
    steps_per_epoch = math.ceil(len(tr_y) / args.batch)

    results = {}
    bar = tqdm(total=len(OPTIMIZERS) * len(lrs) * args.epochs * steps_per_epoch,
               disable=not sys.stderr.isatty(), desc="training")
    for name, make in OPTIMIZERS.items():
        for lr in lrs:
            model = CharCNN(len(vocab) + 2)
            model.load_state_dict(init)
            opt = make(model.parameters(), lr)
            losses, epochs = [], []
            start = time.perf_counter()
            for order in orders:
                for i in range(0, len(order), args.batch):
                    idx = order[i:i + args.batch]
                    loss = torch.nn.functional.cross_entropy(model(tr_ids[idx]), tr_y[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
                    bar.update()
                epochs.append(evaluate(model, va_ids, va_y))
            seconds = time.perf_counter() - start
            results[(name, lr)] = {"losses": losses, "epochs": epochs, "seconds": seconds,
                                   "test": evaluate(model, te_ids, te_y)}
    bar.close()

    lines = [
        f"Char-CNN sentiment classifier, {len(tr_y)} train / {len(va_y)} valid / {len(te_y)} test "
        f"texts, {args.epochs} epochs of batch {args.batch}, seed {args.seed}, "
        f"{args.threads} thread(s). Train loss: mean of the last 50 steps.",
        "",
        "| optimizer | lr | train loss | valid loss (per epoch) | valid acc (final) "
        "| test acc | time (s) |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    best = {}
    for (name, lr), r in results.items():
        va = " / ".join(f"{loss:.3f}" for loss, _ in r["epochs"])
        tail = sum(r["losses"][-50:]) / len(r["losses"][-50:])
        lines.append(f"| {name} | {lr:g} | {tail:.3f} | {va} | {r['epochs'][-1][1]:.3f} | "
                     f"{r['test'][1]:.3f} | {r['seconds']:.0f} |")
        if name not in best or r["epochs"][-1][0] < results[(name, best[name])]["epochs"][-1][0]:
            best[name] = lr
    lines += ["", "Best learning rate by final validation loss: " + ", ".join(
        f"{name} {lr:g} (test acc {results[(name, lr)]['test'][1]:.3f})"
        for name, lr in best.items()) + "."]
    table = "\n".join(lines)
    print(table)
    if args.no_write:
        return 0

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colors = {"Adam": "tab:blue", "AdaX": "tab:orange", "AdaFactor": "tab:green"}
    window = 25
    for (name, lr), r in results.items():
        x = torch.tensor(r["losses"])
        smooth = x.unfold(0, window, 1).mean(1)
        style = "-" if lr == best[name] else ":"
        axes[0].plot(range(window, len(x) + 1), smooth, style, color=colors[name],
                     label=f"{name} lr={lr:g}", linewidth=1.2 if style == "-" else 0.8)
        axes[1].plot(range(1, args.epochs + 1), [v for v, _ in r["epochs"]], style + "o",
                     color=colors[name], label=f"{name} lr={lr:g}")
    axes[0].set(title=f"train loss (moving mean of {window} steps)", xlabel="step",
                ylabel="cross-entropy")
    axes[1].set(title="validation loss", xlabel="epoch", ylabel="cross-entropy")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    img = REPO / "docs" / "img" / "optim_compare.png"
    img.parent.mkdir(parents=True, exist_ok=True)
    tmp = img.with_name("optim_compare.tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, img)

    doc = REPO / "docs" / "optim.md"
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        write_atomic(doc, f"{head}{START}\n{table}\n{END}{tail}")
        print(f"wrote {img.relative_to(REPO)} and the table in {doc.relative_to(REPO)}")
    else:
        print(f"wrote {img.relative_to(REPO)}; {doc.relative_to(REPO)} has no "
              f"{START} marker, table not inserted", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
