"""SPACES stage 2: the sentence-level extractor and k-fold cross-prediction (archives/8046).

- Sentence vectors: a frozen encoder, masked mean pooling over each sentence's tokens
  (:func:`sentence_vectors`; SPACES: RoBERTa-wwm-ext base, precomputed once).
- Labeller over the sentence sequence (:class:`Extractor`): Dropout 0.1 → Linear(d → 384, no
  bias) → six :class:`kexue.layers.GatedDilatedConv1d` blocks in the ``rezero`` form
  (``x + α·LN(h ⊙ σ(g))``, α₀ = 0; kernel 3, dilations 1, 2, 4, 8, 1, 1), each followed by
  Dropout 0.1 → Linear(1) logits, binary cross-entropy on the matching labels.
- Cross-prediction (:func:`cross_predict`): split the documents into k folds, train on k − 1,
  predict the held-out fold, so every document gets an extraction from a model that never saw
  it (SPACES: 15 folds; the generator then trains on realistic extractions). Threshold 0.3 to
  select models, **0.2** to produce generator inputs (recall first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from kexue.layers.conv import GatedDilatedConv1d

__all__ = ["sentence_vectors", "Extractor", "train_extractor", "predict", "cross_predict",
           "DILATIONS"]

DILATIONS = (1, 2, 4, 8, 1, 1)


@torch.inference_mode()
def sentence_vectors(encoder: nn.Module, tokenizer: Any, sentences: Sequence[str], *,
                     maxlen: int = 128, batch_size: int = 64) -> np.ndarray:
    """``(len(sentences), hidden)`` float32: masked mean of ``encoder``'s final hidden states
    over each sentence's tokens (``[CLS]``/``[SEP]`` included, as bert4keras' mean pooling)."""
    from kexue.data import sequence_padding

    encoder.eval()
    out = []
    for start in range(0, len(sentences), batch_size):
        ids = [tokenizer.encode(s, maxlen=maxlen)[0] for s in sentences[start : start + batch_size]]
        x = torch.as_tensor(sequence_padding(ids), dtype=torch.long)
        mask = (x != 0).long()
        hidden = encoder(x, torch.zeros_like(x), attention_mask=mask).hidden
        m = mask.unsqueeze(-1).to(hidden.dtype)
        out.append(((hidden * m).sum(1) / m.sum(1).clamp(min=1)).float().numpy())
    if not out:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(out)


class Extractor(nn.Module):
    """The SPACES labeller (module docstring); ``forward(vectors (b, t, d), mask (b, t))`` →
    logits ``(b, t)``."""

    def __init__(self, input_size: int, hidden_size: int = 384, dropout: float = 0.1,
                 dilations: Sequence[int] = DILATIONS) -> None:
        super().__init__()
        self.input_dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(input_size, hidden_size, bias=False)
        self.blocks = nn.ModuleList(GatedDilatedConv1d(hidden_size, 3, r, rezero=True)
                                    for r in dilations)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, vectors: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.proj(self.input_dropout(vectors))
        for block in self.blocks:
            x = self.dropout(block(x, mask))
        return self.out(x).squeeze(-1)


def _batch(docs: Sequence[np.ndarray], labels: Sequence[Sequence[int]] | None = None):
    t = max(len(d) for d in docs)
    x = torch.zeros(len(docs), t, docs[0].shape[1])
    mask = torch.zeros(len(docs), t)
    y = torch.zeros(len(docs), t)
    for i, d in enumerate(docs):
        x[i, : len(d)] = torch.as_tensor(d)
        mask[i, : len(d)] = 1
        if labels is not None:
            y[i, : len(d)] = torch.as_tensor(labels[i], dtype=torch.float32)
    return x, mask, y


def train_extractor(docs: Sequence[np.ndarray], labels: Sequence[Sequence[int]], *,
                    epochs: int = 20, batch_size: int = 8, lr: float = 1e-3,
                    hidden_size: int = 384, seed: int = 0) -> Extractor:
    """Train an :class:`Extractor` on per-document sentence vectors and 0/1 labels with
    :func:`kexue.train.fit` (Adam, BCE over the real sentences)."""
    from kexue.train import fit

    if len(docs) != len(labels) or not docs:
        raise ValueError("need one label list per document, and at least one document")
    torch.manual_seed(seed)
    model = Extractor(docs[0].shape[1], hidden_size)
    data = list(range(len(docs)))

    def collate(index):
        return _batch([docs[i] for i in index], [labels[i] for i in index])

    def loss_fn(m, batch):
        x, mask, y = batch
        logits = m(x, mask)
        loss = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
        return (loss * mask).sum() / mask.sum()

    fit(model, loss_fn, data, optimizer=torch.optim.Adam(model.parameters(), lr=lr),
        collate_fn=collate, batch_size=batch_size, epochs=epochs, seed=seed)
    return model.eval()


@torch.inference_mode()
def predict(model: Extractor, docs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per-document sentence probabilities."""
    model.eval()
    x, mask, _ = _batch(list(docs))
    p = torch.sigmoid(model(x, mask))
    return [p[i, : len(d)].numpy() for i, d in enumerate(docs)]


def cross_predict(docs: Sequence[np.ndarray], labels: Sequence[Sequence[int]], *, folds: int,
                  seed: int = 0, **train_kwargs: Any) -> list[np.ndarray]:
    """Probabilities for every document from the model trained on the other folds (documents
    ``i`` with ``i % folds == f`` form fold ``f``)."""
    if not 2 <= folds <= len(docs):
        raise ValueError(f"folds must be in [2, {len(docs)}], got {folds}")
    out: list[np.ndarray | None] = [None] * len(docs)
    for f in range(folds):
        train = [i for i in range(len(docs)) if i % folds != f]
        held = [i for i in range(len(docs)) if i % folds == f]
        model = train_extractor([docs[i] for i in train], [labels[i] for i in train],
                                seed=seed + f, **train_kwargs)
        for i, p in zip(held, predict(model, [docs[i] for i in held])):
            out[i] = p
    return out  # type: ignore[return-value]
