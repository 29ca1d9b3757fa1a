"""FGM / gradient penalty / VAT vs a plain baseline on a small char-level Chinese sentiment
classifier (../shared/data/sentiment). Writes a table into docs/objectives.md.

    python experiments/objectives_adversarial.py [--seeds 3] [--train 3000]

A CharCNN (32-d char embeddings, 64 filters) is trained from scratch on a random subset of the
training split; each method keeps the test accuracy of its best-validation epoch.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from objectives_common import CharCNN, char_vocab, encode, read_sentiment, seed_all, write_section

from kexue.objectives import FGM, VAT, gradient_penalty

METHODS = {
    "baseline": "plain cross-entropy",
    "fgm": "FGM, Su's global-norm perturbation of the embedding matrix, ε = {fgm} "
    "(adversarial loss only)",
    "fgm_sample": "FGM, per-sample perturbation of the embedding output, ε = {fgm_sample} "
    "(clean + adversarial loss)",
    "gp": "gradient penalty ½ε‖∇_E L‖² on the embedding matrix, ε = {gp}",
    "vat": "CE + VAT on the same batch (ε = {vat}, ξ = 10, 1 power iteration, global norm)",
}


GRID = {
    "fgm": (0.1, 0.3, 1.0),
    "fgm_sample": (0.1, 0.3, 1.0),
    "gp": (0.1, 1.0, 10.0),
    "vat": (0.1, 0.3, 1.0),
}


def accuracy(model, ids, y, batch=512):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(ids[i : i + batch]).argmax(-1) for i in range(0, len(ids), batch)])
    model.train()
    return float((pred == y).float().mean())


def run(method, seed, data, vocab_size, epochs, eps, lr, batch=64):
    (xtr, ytr), (xva, yva), (xte, yte) = data
    gen = seed_all(seed)
    model = CharCNN(vocab_size, 2)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    if method == "fgm":
        fgm = FGM(model, eps["fgm"], name="embedding")
    elif method == "fgm_sample":
        fgm = FGM(model, eps["fgm_sample"], name="embedding", norm="per_sample")
    elif method == "vat":
        vat = VAT(model, eps["vat"], 10.0, 1, name="embedding", generator=gen)
    best = (-1.0, 0.0, 0)
    for epoch in range(epochs):
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(perm), batch):
            idx = perm[i : i + batch]
            ids, y = xtr[idx], ytr[idx]
            opt.zero_grad()
            if method == "baseline":
                F.cross_entropy(model(ids), y).backward()
            elif method == "fgm":
                loss = F.cross_entropy(model(ids), y)
                with fgm.perturb(loss):
                    F.cross_entropy(model(ids), y).backward()
            elif method == "fgm_sample":
                with fgm.watch():
                    loss = F.cross_entropy(model(ids), y)
                loss.backward(retain_graph=True)
                with fgm.perturb(loss):
                    F.cross_entropy(model(ids), y).backward()
            elif method == "gp":
                loss = F.cross_entropy(model(ids), y)
                (loss + gradient_penalty(loss, model.embedding, eps["gp"])).backward()
            elif method == "vat":
                logits = model(ids)
                loss = F.cross_entropy(logits, y) + vat.loss(lambda ids=ids: model(ids), logits)
                loss.backward()
            opt.step()
        va, te = accuracy(model, xva, yva), accuracy(model, xte, yte)
        if va > best[0]:
            best = (va, te, epoch + 1)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--train", type=int, default=3000, help="training subset size")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--maxlen", type=int, default=100)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--methods", default=",".join(METHODS))
    for m in ("fgm", "fgm_sample", "gp", "vat"):
        ap.add_argument(f"--eps-{m.replace('_', '-')}", type=float, default=1.0)
    ap.add_argument("--sweep", action="store_true", help="pick each ε on validation first")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    train, valid, test = (read_sentiment(s) for s in ("train", "valid", "test"))
    g = torch.Generator().manual_seed(1234)
    sub = [train[i] for i in torch.randperm(len(train), generator=g)[: args.train].tolist()]
    vocab = char_vocab([t for t, _ in sub])

    def tensors(rows):
        return encode([t for t, _ in rows], vocab, args.maxlen), torch.tensor([y for _, y in rows])

    data = (tensors(sub), tensors(valid), tensors(test))
    methods = args.methods.split(",")
    eps = {m: getattr(args, f"eps_{m}") for m in ("fgm", "fgm_sample", "gp", "vat")}
    sweep_lines = []
    if args.sweep:
        # choose each ε on the validation set with a separate seed (100), then rerun
        for m in methods:
            if m == "baseline":
                continue
            scores = {}
            for e in GRID[m]:
                va, _, _ = run(m, 100, data, len(vocab), args.epochs, {**eps, m: e}, args.lr)
                scores[e] = va
                print(f"sweep {m} eps {e}: valid {va:.4f}", flush=True)
            eps[m] = max(scores, key=scores.get)
            sweep_lines.append(
                f"| {m} | "
                + "; ".join(f"ε = {e:g}: {100 * v:.2f}" for e, v in scores.items())
                + f" | {eps[m]:g} |"
            )
    results = {m: [] for m in methods}
    t0 = time.time()
    for seed in range(args.seeds):
        for m in methods:  # alternate methods within each seed
            start = time.time()
            results[m].append(run(m, seed, data, len(vocab), args.epochs, eps, args.lr))
            va, te, ep = results[m][-1]
            print(
                f"seed {seed} {m:10s} valid {va:.4f} test {te:.4f} (epoch {ep}) "
                f"{time.time() - start:.0f}s",
                flush=True,
            )
    lines = [
        f"Sentiment, char-CNN trained from scratch on {args.train} random training sentences "
        f"(vocab {len(vocab)} chars, maxlen {args.maxlen}), {args.epochs} epochs, Adam {args.lr}, "
        f"batch 64; test accuracy at the best-validation epoch, mean ± std over "
        f"{args.seeds} seeds (valid 2,111 / test 2,111 sentences). Total "
        f"{(time.time() - t0) / 60:.1f} wall-clock minutes on the shared 2-core machine.",
        "",
        "| method | valid acc | test acc | Δ test vs baseline |",
        "|---|---|---|---|",
    ]
    base = statistics.mean(r[1] for r in results.get("baseline", [(0, 0, 0)]))
    for m in methods:
        va = [r[0] for r in results[m]]
        te = [r[1] for r in results[m]]
        sd = statistics.stdev(te) if len(te) > 1 else 0.0
        delta = f"{100 * (statistics.mean(te) - base):+.2f} pt" if "baseline" in results else ""
        lines.append(
            f"| {METHODS[m].format(**eps)} | {100 * statistics.mean(va):.2f} | "
            f"{100 * statistics.mean(te):.2f} ± {100 * sd:.2f} | {delta} |"
        )
    if sweep_lines:
        lines += [
            "",
            f"ε chosen on the validation set (seed 100, {args.epochs} epochs):",
            "",
            "| method | validation accuracy per ε | chosen |",
            "|---|---|---|",
            *sweep_lines,
        ]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section("adversarial", table)


if __name__ == "__main__":
    main()
