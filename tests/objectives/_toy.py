"""A tiny smooth text classifier shared by the regularizer tests (float64)."""

import torch
from torch import nn


class ToyClassifier(nn.Module):
    def __init__(self, vocab=20, dim=6, classes=3):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.hidden = nn.Linear(dim, 8)
        self.out = nn.Linear(8, classes)

    def forward(self, ids):
        h = torch.tanh(self.hidden(self.tok(ids))).mean(1)
        return self.out(h)


def toy(seed=0):
    torch.manual_seed(seed)
    model = ToyClassifier().double()
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 20, (4, 5), generator=g)
    y = torch.randint(0, 3, (4,), generator=g)
    return model, ids, y
