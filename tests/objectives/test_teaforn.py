import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from kexue.objectives import teaforn_logits, teaforn_loss


class CausalBody(nn.Module):
    """h_t = tanh(W · mean(x_0..x_t) + U x_t): causal, maps the input space to itself."""

    def __init__(self, d):
        super().__init__()
        self.w = nn.Linear(d, d)
        self.u = nn.Linear(d, d, bias=False)

    def forward(self, x):
        steps = torch.arange(1, x.shape[1] + 1, dtype=x.dtype).view(1, -1, 1)
        return torch.tanh(self.w(x.cumsum(1) / steps) + self.u(x))


def _setup(seed=0):
    torch.manual_seed(seed)
    d, v, b, length = 6, 11, 2, 7
    emb = nn.Embedding(v, d).double()
    body = CausalBody(d).double()
    head = nn.Linear(d, v).double()
    tokens = torch.randint(0, v, (b, length + 1))
    return emb, body, head, tokens[:, :-1], tokens[:, 1:]


def test_one_level_is_teacher_forcing():
    emb, body, head, inp, tgt = _setup()
    e = emb(inp)
    ref = F.cross_entropy(head(body(e)).transpose(1, 2), tgt)
    assert_close(teaforn_loss(e, tgt, body, head, 1), ref)


def test_levels_weighted_sum_and_shift():
    emb, body, head, inp, tgt = _setup(1)
    e = emb(inp)
    h1 = body(e)
    h2 = body(torch.cat([e[:, :1], h1[:, :-1]], 1))
    ref = 0.7 * F.cross_entropy(head(h1).transpose(1, 2), tgt) + 0.3 * F.cross_entropy(
        head(h2).transpose(1, 2), tgt
    )
    assert_close(teaforn_loss(e, tgt, body, head, 2, [0.7, 0.3]), ref)


def test_level_i_sees_only_tokens_up_to_t_minus_i_plus_1():
    emb, body, head, inp, _ = _setup(2)
    e = emb(inp).detach()
    n, length = 3, e.shape[1]
    for level in range(1, n + 1):
        for t in range(length):

            def f(x, level=level, t=t):
                return teaforn_logits(x, body, head, n)[level - 1][0, t].sum()

            jac = torch.autograd.functional.jacobian(f, e)[0]  # (L, d)
            depends = jac.abs().sum(-1) > 0
            allowed = torch.arange(length) <= max(t - level + 1, 0)
            assert bool((depends == allowed).all()), (level, t, depends, allowed)


def test_padding_ignored_and_gradient_reaches_level_one_inputs():
    emb, body, head, inp, tgt = _setup(3)
    tgt = tgt.clone()
    tgt[:, -2:] = -100
    e = emb(inp)
    loss = teaforn_loss(e, tgt, body, head, 2, [0.0, 1.0])  # level-2 loss only
    loss.backward()
    assert emb.weight.grad[inp[:, 1:-2].flatten()].abs().sum() > 0


def test_bad_inputs():
    emb, body, head, inp, tgt = _setup()
    e = emb(inp)
    with pytest.raises(ValueError, match="same space|input shape"):
        teaforn_loss(e, tgt, head, head, 2)
    with pytest.raises(ValueError, match="weights"):
        teaforn_loss(e, tgt, body, head, 2, [1.0])
    with pytest.raises(ValueError, match="targets"):
        teaforn_loss(e, tgt[:, :-1], body, head, 2)
    with pytest.raises(ValueError, match=r"\[0, 10\]"):
        teaforn_loss(e, tgt + 20, body, head, 2)
