"""Lazy optimization: untouched rows keep parameters and moments."""

from __future__ import annotations

import torch
from torch.testing import assert_close

from kexue.optim import AdaX, extend_with_lazy_optimization


def _two_rows(opt_cls, **kwargs):
    emb = torch.nn.Parameter(torch.tensor([[1.0], [-2.0]], dtype=torch.float64))
    opt = opt_cls([emb], **kwargs)
    emb.grad = torch.tensor([[0.5], [0.5]], dtype=torch.float64)  # both rows touched once
    opt.step()
    return emb, opt


def test_zero_gradient_row_keeps_value_and_moments():
    LazyAdaX = extend_with_lazy_optimization(AdaX)
    emb, opt = _two_rows(LazyAdaX, lr=0.1)
    ref, ref_opt = _two_rows(AdaX, lr=0.1)
    row1 = emb.detach()[1].clone()
    m1 = opt.state[emb]["exp_avg"][1].clone()
    v1 = opt.state[emb]["exp_avg_sq"][1].clone()
    for _ in range(3):
        emb.grad = torch.tensor([[0.3], [0.0]], dtype=torch.float64)
        ref.grad = emb.grad.clone()
        opt.step()
        ref_opt.step()
    assert_close(emb.detach()[1], row1, rtol=0, atol=0)
    assert_close(opt.state[emb]["exp_avg"][1], m1, rtol=0, atol=0)
    assert_close(opt.state[emb]["exp_avg_sq"][1], v1, rtol=0, atol=0)
    # without the wrapper the stale momentum keeps moving the untouched row
    assert float((ref.detach()[1] - row1).abs()) > 1e-3
    # the touched row follows the plain optimizer exactly
    assert_close(emb.detach()[0], ref.detach()[0], rtol=1e-15, atol=0)


def test_sparse_embedding_gradients_train_through_the_wrapper():
    torch.manual_seed(0)
    emb = torch.nn.Embedding(6, 2, sparse=True)
    before = emb.weight.detach().clone()
    opt = extend_with_lazy_optimization(AdaX)(emb.parameters(), lr=0.1)
    emb(torch.tensor([1, 3])).sum().backward()
    opt.step()
    assert emb.weight.grad.is_sparse  # the caller's gradient is given back
    moved = (emb.weight.detach() != before).any(dim=1)
    assert moved.tolist() == [False, True, False, True, False, False]


def test_only_included_names_are_lazy():
    model = torch.nn.ModuleDict({"emb": torch.nn.Embedding(3, 1), "lin": torch.nn.Linear(1, 3)})
    opt = extend_with_lazy_optimization(AdaX)(model.named_parameters(), lr=0.1,
                                             include_in_lazy_optimization=["emb"])
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    emb_before = model["emb"].weight.detach().clone()
    lin_before = model["lin"].weight.detach().clone()
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    assert torch.equal(model["emb"].weight.detach(), emb_before)
    assert not torch.equal(model["lin"].weight.detach(), lin_before)
