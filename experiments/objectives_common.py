"""Shared pieces of the objectives experiments: data location, the sentiment set, a small
char-level CNN text classifier, and a Markdown-table writer for docs/objectives.md."""

from __future__ import annotations

import fcntl
import random
import re
import sys
from collections import Counter
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from anywhere: this checkout's kexue, not an installed one
    sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"
DOC = REPO / "docs" / "objectives.md"
IMG = REPO / "docs" / "img"


def data_path(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.exists():
        sys.exit(f"real data not found: {path} (expected ../shared/data beside the checkout)")
    return path


def read_sentiment(split: str) -> list[tuple[str, int]]:
    rows = []
    for line in data_path("sentiment", f"sentiment.{split}.data").read_text("utf-8").splitlines():
        text, _, label = line.rpartition("\t")
        if text and label in ("0", "1"):
            rows.append((text, int(label)))
    return rows


def char_vocab(texts: list[str], min_count: int = 2) -> dict[str, int]:
    counts = Counter(ch for t in texts for ch in t)
    vocab = {"<pad>": 0, "<unk>": 1}
    for ch, c in counts.most_common():
        if c >= min_count:
            vocab[ch] = len(vocab)
    return vocab


def encode(texts: list[str], vocab: dict[str, int], maxlen: int) -> torch.Tensor:
    out = torch.zeros(len(texts), maxlen, dtype=torch.long)
    for i, t in enumerate(texts):
        ids = [vocab.get(ch, 1) for ch in t[:maxlen]]
        out[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out


class CharCNN(nn.Module):
    """Embedding -> Conv1d -> ReLU -> max-pool over time -> Linear."""

    def __init__(self, vocab: int, classes: int, dim: int = 32, filters: int = 64) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        nn.init.normal_(self.embedding.weight, std=0.1)
        self.conv = nn.Conv1d(dim, filters, 3, padding=1)
        self.dropout = nn.Dropout(0.2)
        self.out = nn.Linear(filters, classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(self.embedding(ids).transpose(1, 2)))
        h = h.masked_fill((ids == 0).unsqueeze(1), -1e4).max(-1).values
        return self.out(self.dropout(h))


def seed_all(seed: int) -> torch.Generator:
    random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def write_section(marker: str, body: str) -> None:
    """Replace the block between ``<!-- marker:begin -->`` and ``<!-- marker:end -->`` in
    docs/objectives.md (written atomically, so no half-written doc is left behind)."""
    lock_path = REPO / "experiments" / "out" / "objectives_doc.lock"  # git-ignored
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # experiments may run side by side
        _replace_block(marker, body)


def _replace_block(marker: str, body: str) -> None:
    text = DOC.read_text("utf-8")
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        sys.exit(f"{DOC} has no {begin} ... {end} block")
    new = pattern.sub(lambda _: f"{begin}\n{body.strip()}\n{end}", text)
    tmp = DOC.with_suffix(".md.tmp")
    tmp.write_text(new, "utf-8")
    tmp.replace(DOC)
