"""Sentiment classification with a small RoFormer trained from scratch, written as a user would
with ``kexue.train.fit`` (bert4keras's ``examples/task_sentiment_albert.py``, minus the
pre-trained checkpoint: none can be downloaded here).

Data: ``../shared/data/sentiment`` (text TAB label). The model is selected on
``sentiment.valid.data`` (Evaluator, EMA weights); ``sentiment.test.data`` is scored once, at
the end, with the selected weights. Resumable: run the same command again after a crash.

    python examples/sentiment.py                     # ~10-15 min on a 2-core CPU
    python examples/sentiment.py --record            # also append results/training.jsonl
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from anywhere: this checkout's kexue
    sys.path.insert(0, str(REPO))

from kexue.data import PadCollate  # noqa: E402
from kexue.io.atomic import write_text  # noqa: E402
from kexue.models import build_transformer_model  # noqa: E402
from kexue.optim import extend_with_exponential_moving_average  # noqa: E402
from kexue.text import Tokenizer  # noqa: E402
from kexue.train import Evaluator, LearningCurves, PiecewiseLinearLR, fit  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "sentiment"


def load(split: str) -> list[tuple[str, int]]:
    rows = []
    for line in (DATA / f"sentiment.{split}.data").read_text("utf-8").splitlines():
        text, _, label = line.rpartition("\t")
        if text and label in ("0", "1"):
            rows.append((text, int(label)))
    return rows


class Classifier(nn.Module):
    """RoFormer encoder -> mean over real tokens -> linear (2 classes)."""

    def __init__(self, vocab_size: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.encoder = build_transformer_model(
            {"vocab_size": vocab_size, "hidden_size": hidden, "num_hidden_layers": layers,
             "num_attention_heads": hidden // 32, "intermediate_size": 2 * hidden,
             "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1},
            model="roformer")
        self.dropout = nn.Dropout(0.1)
        self.out = nn.Linear(hidden, 2)

    def forward(self, token_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        h = self.encoder(token_ids, attention_mask=attention_mask).hidden
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        return self.out(self.dropout((h * m).sum(1) / m.sum(1)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--maxlen", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    ap.add_argument("--out", default=str(REPO / "runs" / "sentiment"))
    ap.add_argument("--png", default=str(REPO / "docs" / "img" / "training_sentiment.png"))
    ap.add_argument("--record", action="store_true", help="append results/training.jsonl")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.time()

    train, valid, test = load("train"), load("valid"), load("test")
    # a character vocabulary from the training split (no pre-trained vocab here)
    counts = Counter(ch for text, _ in train for ch in text.lower())
    chars = sorted(ch for ch, c in counts.items() if c >= 2 and not ch.isspace())
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars])}
    tokenizer = Tokenizer(vocab)

    def encode(rows):
        ids = tokenizer.encode_batch([t for t, _ in rows], maxlen=args.maxlen)
        return [{"token_ids": t, "labels": y} for (t, _), (_, y) in zip(ids, rows)]

    train_data, valid_data, test_data = encode(train), encode(valid), encode(test)
    collate = PadCollate()

    model = Classifier(len(vocab), args.hidden, args.layers)
    AdamEMA = extend_with_exponential_moving_average(torch.optim.AdamW)
    opt = AdamEMA(model.parameters(), lr=args.lr, weight_decay=0.01, ema_momentum=0.99)

    def loss_fn(m, batch):
        logits = m(batch["token_ids"], batch["attention_mask"])
        return nn.functional.cross_entropy(logits, batch["labels"])

    def accuracy(m, data) -> float:
        right = 0
        for i in range(0, len(data), 128):
            b = collate(data[i:i + 128])
            right += int((m(b["token_ids"], b["attention_mask"]).argmax(-1) == b["labels"]).sum())
        return right / len(data)

    title = f"RoFormer ({args.layers}x{args.hidden}) from scratch, sentiment"
    steps_per_epoch = -(-len(train_data) // args.batch_size)
    total = steps_per_epoch * args.epochs
    evaluator = Evaluator(lambda m: {"val_acc": accuracy(m, valid_data)}, restore_best=True)
    trainer = fit(model, loss_fn, train_data, optimizer=opt, batch_size=args.batch_size,
                  epochs=args.epochs, collate_fn=collate,
                  lengths=[len(d["token_ids"]) for d in train_data],
                  callbacks=[evaluator, PiecewiseLinearLR({200: 1.0, total: 0.1}),
                             LearningCurves(args.png, title=title)],
                  checkpoint_dir=args.out, checkpoint_every=200, resume=True)
    # restore_best loaded the selected (EMA) weights: score the test split once
    model.eval()
    with torch.no_grad():
        test_acc = accuracy(model, test_data)
    minutes = (time.time() - start) / 60
    print(f"best valid acc {evaluator.best:.4f} (epoch {evaluator.best_epoch + 1}); "
          f"test acc {test_acc:.4f}; {minutes:.1f} min")
    if args.record:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=REPO).stdout.strip()
        common = {"data": "shared/data/sentiment", "command": "python examples/sentiment.py",
                  "commit": commit, "date": datetime.date.today().isoformat(),
                  "machine": "2-core CPU",
                  "notes": f"RoFormer {args.layers}x{args.hidden} from scratch, char vocab "
                           f"{len(vocab)}, maxlen {args.maxlen}, batch {args.batch_size}, "
                           f"{args.epochs} epochs, AdamW+EMA 0.99, seed 0, "
                           f"{torch.get_num_threads()} thread(s); "
                           f"{trainer.step} steps, {minutes:.1f} wall-clock min (shared machine)"}
        rows = [
            {"claim": "sentiment example: validation accuracy of the selected epoch",
             "value": round(100 * evaluator.best, 2), "unit": "%", "split": "valid", **common},
            {"claim": "sentiment example: test accuracy of the selected weights (scored once)",
             "value": round(100 * test_acc, 2), "unit": "%", "split": "test", **common},
        ]
        path = REPO / "results" / "training.jsonl"
        path.parent.mkdir(exist_ok=True)
        old = path.read_text("utf-8") if path.exists() else ""
        write_text(path, old + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
