"""kexue.similarity: sentence vectors, their evaluation, search and training objectives.

One module per job (docs/similarity.md):

- ``pooling``     P1–P4 of kexue.fm/archives/8321 ([CLS], pooler, last mean, first+last mean)
- ``whitening``   BERT-whitening with dimension reduction (archives/8069), fitted, saved, loaded
- ``encoder``     :class:`SentenceEncoder`: any kexue model → vectors, length-bucketed batches
- ``data``        the senteval_cn pair files and their fixed splits; the Sohu 2021 samples
- ``metrics``     Spearman ×100, binary F1, the article's table layout
- ``search``      exact top-k cosine search by batched matrix products; vector files
- ``losses``      SimBERT in-batch contrastive, RoFormer-Sim distillation, CoSENT, cosine
                  losses, the masked 5-way output of RoFormer-Sim-FT (7427, 8454, 8541)
- ``heads``       the Sentence-BERT [u, v, |u−v|] classifier head (8541)
- ``matcher``     the conditional-LayerNorm multi-task matcher (8337)
- ``gru``         the GRU sentence encoder and paraphrase groups for AM-Softmax (5743)
"""

from __future__ import annotations

import importlib

_WHERE = {
    "POOLINGS": "kexue.similarity.pooling",
    "pool": "kexue.similarity.pooling",
    "Whitening": "kexue.similarity.whitening",
    "SentenceEncoder": "kexue.similarity.encoder",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'kexue.similarity' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
