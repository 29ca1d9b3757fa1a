import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from kexue.objectives import AMSoftmaxLoss, CosineClassifier, am_softmax_loss


def _cos(seed=0, n=8, c=5):
    g = torch.Generator().manual_seed(seed)
    h = F.normalize(torch.randn(n, 16, generator=g, dtype=torch.float64), dim=1)
    w = F.normalize(torch.randn(c, 16, generator=g, dtype=torch.float64), dim=1)
    return h @ w.T, torch.randint(0, c, (n,), generator=g)


def test_matches_float64_formula():
    cos, y = _cos()
    s, m = 30.0, 0.35
    c, t = cos.numpy(), y.numpy()
    ref = []
    for i in range(len(t)):
        num = np.exp(s * (c[i, t[i]] - m))
        den = num + sum(np.exp(s * c[i, j]) for j in range(c.shape[1]) if j != t[i])
        ref.append(-np.log(num / den))
    got = am_softmax_loss(cos, y, reduction="none")
    assert_close(got, torch.tensor(ref, dtype=torch.float64), rtol=1e-10, atol=1e-10)


def test_su_sparse_logz_form_agrees():
    # 5743's implementation: logZ over [cos_all, cos_t - m] * s, minus the un-margined target.
    cos, y = _cos(1)
    s, m = 30.0, 0.35
    ct = cos.gather(1, y[:, None])
    both = torch.cat([cos, ct - m], 1) * s
    logz = torch.logsumexp(both, 1)
    logz = logz + torch.log1p(-torch.exp(s * ct[:, 0] - logz))
    ref = -s * (ct[:, 0] - m) + logz
    assert_close(am_softmax_loss(cos, y, s, m, reduction="none"), ref)


def test_zero_margin_is_scaled_ce_and_margin_increases_loss():
    cos, y = _cos(2)
    assert_close(am_softmax_loss(cos, y, 10.0, 0.0), F.cross_entropy(10.0 * cos, y))
    assert float(am_softmax_loss(cos, y, 10.0, 0.2)) > float(am_softmax_loss(cos, y, 10.0, 0.0))


def test_head_module_and_finite_gradient_at_cos_one():
    head = CosineClassifier(16, 5).double()
    h = head.weight.detach()[[0, 3]].clone().requires_grad_()  # cos_t exactly 1
    cos = head(h)
    assert float(cos.detach().abs().max()) <= 1.0
    loss = AMSoftmaxLoss()(cos, torch.tensor([0, 3]))
    loss.backward()
    assert torch.isfinite(h.grad).all() and torch.isfinite(head.weight.grad).all()


def test_bad_inputs():
    cos, y = _cos()
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        am_softmax_loss(cos * 3, y)
    with pytest.raises(ValueError, match=r"\[0, 4\]"):
        am_softmax_loss(cos, y + 5)
    with pytest.raises(ValueError, match="scale"):
        am_softmax_loss(cos, y, scale=0.0)
    with pytest.raises(ValueError, match="in_features"):
        CosineClassifier(16, 5)(torch.zeros(2, 8))
