"""Embeddings and heads: shapes, formulas and bad input."""

from __future__ import annotations

import pytest
import torch

from kexue.layers import Embeddings, MLMHead, NSPHead, Pooler


def test_embeddings_formula_and_projection():
    emb = Embeddings(20, 8, 16, max_position=10, type_vocab_size=2, eps=1e-12)
    ids = torch.tensor([[1, 2, 3]])
    seg = torch.tensor([[0, 1, 1]])
    pos = torch.arange(3)[None]
    x = emb.token(ids) + emb.position(pos) + emb.segment(seg)
    ref = emb.project(
        torch.nn.functional.layer_norm(x, (8,), emb.norm.weight, emb.norm.bias, 1e-12)
    )
    torch.testing.assert_close(emb(ids, seg, pos), ref)


def test_embeddings_bad_input():
    emb = Embeddings(20, 8, 8, max_position=10)
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 20\)"):
        emb(torch.tensor([[1, 20]]), position_ids=torch.arange(2)[None])
    with pytest.raises(ValueError, match="beyond the 10 trained positions"):
        emb(torch.tensor([[1, 2]]), position_ids=torch.tensor([[9, 10]]))


def test_heads():
    h = torch.randn(2, 5, 8)
    pool = Pooler(8, "linear")
    torch.testing.assert_close(pool(h), pool.dense(h[:, 0]))
    assert NSPHead(8)(Pooler(8)(h)).shape == (2, 2)
    mlm = MLMHead(8, 8, 30)
    assert mlm(h, torch.randn(30, 8)).shape == (2, 5, 30)
    with pytest.raises(ValueError, match="pooler activation"):
        Pooler(8, "relu")
