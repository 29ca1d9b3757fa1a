import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from kexue.objectives import policy_gradient_loss, zeroth_order_gradient

A = torch.diag(torch.tensor([1.0, 2.0, 0.5, 3.0, 1.5], dtype=torch.float64))
B = torch.tensor([0.1, -0.2, 0.3, 0.0, 1.0], dtype=torch.float64)


def _f(x):  # batched quadratic: (S, 5) -> (S,)
    return 0.5 * ((x @ A) * x).sum(-1) + x @ B


def test_zeroth_order_mean_converges_like_one_over_sqrt_n():
    x = torch.tensor([0.5, -1.0, 0.2, 0.3, -0.4], dtype=torch.float64)
    grad = A @ x + B
    errs = []
    for n in (500, 8000):
        g = torch.Generator().manual_seed(0)
        est = torch.stack(
            [zeroth_order_gradient(_f, x, n, 1e-4, batched=True, generator=g) for _ in range(12)]
        )
        errs.append(float((est - grad).norm(dim=1).mean()))
    assert 2.8 < errs[0] / errs[1] < 5.5  # sqrt(16) = 4
    # unbatched path agrees with batched path for the same directions
    e1 = zeroth_order_gradient(
        lambda v: _f(v[None])[0], x, 50, 1e-4, generator=torch.Generator().manual_seed(3)
    )
    e2 = zeroth_order_gradient(
        _f, x, 50, 1e-4, batched=True, generator=torch.Generator().manual_seed(3)
    )
    assert_close(e1, e2)


def test_baseline_keeps_mean_and_lowers_variance():
    x = torch.tensor([0.5, -1.0, 0.2, 0.3, -0.4], dtype=torch.float64)
    grad = A @ x + B
    runs = {}
    for base in (True, False):
        g = torch.Generator().manual_seed(1)
        runs[base] = torch.stack(
            [
                zeroth_order_gradient(_f, x, 20, 1e-3, baseline=base, batched=True, generator=g)
                for _ in range(300)
            ]
        )
    for base in (True, False):
        se = runs[base].std(0) / 300**0.5
        assert bool(((runs[base].mean(0) - grad).abs() < 4 * se + 1e-3).all())
    assert float(runs[False].var(0).sum()) > 10 * float(runs[True].var(0).sum())


def test_reinforce_matches_exact_gradient_and_baseline_reduces_variance():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(10, generator=g, dtype=torch.float64, requires_grad=True)
    rewards = torch.randn(10, generator=g, dtype=torch.float64) + 3.0  # all positive-ish
    (exact,) = torch.autograd.grad(-(F.softmax(logits, -1) * rewards).sum(), logits)
    estimates = {"none": [], "mean": []}
    for _ in range(300):
        for name, baseline in (("none", None), ("mean", "mean")):
            y = torch.multinomial(F.softmax(logits.detach(), -1), 16, replacement=True, generator=g)
            logp = F.log_softmax(logits, -1)[y]
            loss = policy_gradient_loss(logp[None], rewards[y][None], baseline)
            (gr,) = torch.autograd.grad(loss, logits)
            estimates[name].append(gr)
    none = torch.stack(estimates["none"])
    mean = torch.stack(estimates["mean"])
    se = none.std(0) / 300**0.5
    assert bool(((none.mean(0) - exact).abs() < 4 * se + 1e-9).all())
    # the sample-mean baseline shrinks the estimate by (S-1)/S (documented); rescaled it matches
    se_m = mean.std(0) / 300**0.5
    assert bool(((mean.mean(0) * 16 / 15 - exact).abs() < 4 * se_m * 16 / 15 + 1e-9).all())
    assert float(mean.var(0).sum()) < 0.2 * float(none.var(0).sum())


def test_bad_args():
    with pytest.raises(ValueError, match="differ"):
        policy_gradient_loss(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="baseline"):
        policy_gradient_loss(torch.zeros(3), torch.zeros(3), "median")
    with pytest.raises(ValueError, match="epsilon"):
        zeroth_order_gradient(_f, torch.zeros(5), 10, 0.0, batched=True)
