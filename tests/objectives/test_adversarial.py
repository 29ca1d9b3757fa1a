import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from kexue.objectives import FGM, VAT, gradient_penalty, kl_divergence_from_logits

from ._toy import toy


def test_fgm_global_norm_direction_and_bit_identical_restore():
    model, ids, y = toy()
    w0 = model.tok.weight.detach().clone()
    fgm = FGM(model, epsilon=0.5)
    loss = F.cross_entropy(model(ids), y)
    (g,) = torch.autograd.grad(loss, model.tok.weight, retain_graph=True)
    with fgm.perturb(loss) as delta:
        assert_close(delta.norm(), torch.tensor(0.5, dtype=torch.float64))
        assert_close(
            F.cosine_similarity(delta.flatten(), g.flatten(), dim=0).detach(),
            torch.tensor(1.0, dtype=torch.float64),
        )
        assert_close(model.tok.weight.detach(), w0 + delta)
        adv = F.cross_entropy(model(ids), y)
        adv.backward()
    assert torch.equal(model.tok.weight.detach(), w0)
    # first order: the loss rises by about eps * ||g||
    assert_close(adv.detach() - loss.detach(), 0.5 * g.norm(), rtol=0.1, atol=0)
    assert all(p.grad is not None for p in model.parameters())


def test_fgm_restores_after_exception():
    model, ids, y = toy(1)
    w0 = model.tok.weight.detach().clone()
    fgm = FGM(model.tok, epsilon=1.0)
    with pytest.raises(RuntimeError), fgm.perturb(F.cross_entropy(model(ids), y)):
        raise RuntimeError("inside")
    assert torch.equal(model.tok.weight.detach(), w0)


def test_fgm_per_sample_norms_and_direction():
    model, ids, y = toy(2)
    w0 = model.tok.weight.detach().clone()
    fgm = FGM(model, epsilon=0.3, norm="per_sample")
    with pytest.raises(ValueError, match="watch"):
        fgm.delta(F.cross_entropy(model(ids), y))
    with fgm.watch():
        emb_out = None
        loss = F.cross_entropy(model(ids), y)
    emb_out = fgm._watched
    (g,) = torch.autograd.grad(loss, emb_out, retain_graph=True)
    with fgm.perturb(loss) as delta:
        adv = model(ids)
    assert delta.shape == emb_out.shape
    assert_close(delta.flatten(1).norm(dim=1), torch.full((4,), 0.3, dtype=torch.float64))
    cos = F.cosine_similarity(delta.flatten(1), g.flatten(1), dim=1)
    assert_close(cos, torch.ones(4, dtype=torch.float64))
    assert torch.equal(model.tok.weight.detach(), w0)
    assert not torch.equal(adv, model(ids))


def _param_grads(model, loss):
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(model.parameters()))])


@pytest.mark.parametrize("normalised", [True, False])
def test_gradient_penalty_is_first_order_fgm(normalised):
    # grad_theta L(E + Delta) vs grad_theta (L + GP), Delta held constant: error O(eps^2).
    model, ids, y = toy(3)
    errors = []
    for eps in (1e-2, 5e-3, 2.5e-3):
        loss = F.cross_entropy(model(ids), y)
        (g,) = torch.autograd.grad(loss, model.tok.weight, retain_graph=True)
        delta = (eps * (g / g.norm() if normalised else g)).detach()
        w0 = model.tok.weight.detach().clone()
        with torch.no_grad():
            model.tok.weight.add_(delta)
        adv_grad = _param_grads(model, F.cross_entropy(model(ids), y))
        with torch.no_grad():
            model.tok.weight.copy_(w0)
        loss = F.cross_entropy(model(ids), y)
        gp = gradient_penalty(loss, model.tok, eps, squared=not normalised)
        gp_grad = _param_grads(model, loss + gp)
        errors.append(float((adv_grad - gp_grad).norm()))
    assert 3.2 < errors[0] / errors[1] < 4.8 and 3.2 < errors[1] / errors[2] < 4.8


def test_gradient_penalty_value_and_bad_input():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    loss = (x**2).sum()  # grad = 2x, ||g||^2 = 20
    assert_close(gradient_penalty(loss, x, 0.5), torch.tensor(5.0, dtype=torch.float64))
    assert_close(
        gradient_penalty(loss, [x], 2.0, squared=False),
        torch.tensor(2 * 20**0.5, dtype=torch.float64),
    )
    with pytest.raises(ValueError, match="require grad"):
        gradient_penalty(loss, torch.ones(2), 1.0)
    with pytest.raises(TypeError):
        gradient_penalty(loss, "tok", 1.0)


def test_vat_power_iteration_finds_top_eigenvector():
    # one example: logits = W e(ids).flatten(); KL(p || q(e + d)) ~ 1/2 d^T H d
    torch.manual_seed(0)
    emb = torch.nn.Embedding(6, 3).double()
    W = torch.randn(4, 6, dtype=torch.float64)
    ids = torch.tensor([[1, 4]])

    def forward():
        return emb(ids).flatten(1) @ W.T

    logits = forward().detach()
    p = F.softmax(logits, -1)[0]
    J = W  # d logits / d (embedding output, flattened)
    H = J.T @ (torch.diag(p) - torch.outer(p, p)) @ J
    evals, evecs = torch.linalg.eigh(H)
    top = evecs[:, -1]
    cosines = []
    for iters in (0, 1, 4):
        vat = VAT(
            emb,
            epsilon=1e-3,
            xi=1e-4,
            iters=iters,
            norm="per_sample",
            generator=torch.Generator().manual_seed(1),
        )
        loss = vat.loss(forward, logits)
        d = vat.last_direction.flatten()
        cosines.append(abs(float(d @ top)))
        assert_close(d.norm(), torch.tensor(1.0, dtype=torch.float64))
        if iters == 4:
            # loss ~ 1/2 eps^2 lambda_max
            assert_close(loss.detach(), 0.5 * 1e-6 * evals[-1], rtol=1e-2, atol=0)
    assert cosines[1] > cosines[0] and cosines[2] > 0.99


def test_vat_global_mode_leaves_weights_and_gives_gradients():
    model, ids, _ = toy(4)
    w0 = model.tok.weight.detach().clone()
    vat = VAT(model, generator=torch.Generator().manual_seed(0))
    logits = model(ids)
    loss = vat.loss(lambda: model(ids), logits)
    assert float(loss.detach()) > 0
    loss.backward()
    assert torch.equal(model.tok.weight.detach(), w0)
    assert model.hidden.weight.grad is not None and model.hidden.weight.grad.abs().sum() > 0
    assert_close(vat.last_direction.norm(), torch.tensor(1.0, dtype=torch.float64))
    assert vat.last_direction.shape == model.tok.weight.shape


def test_kl_and_bad_args():
    a = torch.randn(3, 5)
    assert_close(kl_divergence_from_logits(a, a), torch.tensor(0.0))
    with pytest.raises(ValueError, match="shapes differ"):
        kl_divergence_from_logits(a, a[:2])
    model, _, _ = toy()
    with pytest.raises(ValueError, match="norm"):
        FGM(model, norm="token")
    with pytest.raises(ValueError, match="epsilon"):
        FGM(model, epsilon=0.0)
    with pytest.raises(ValueError, match="iters"):
        VAT(model, iters=-1)
    with pytest.raises(TypeError):
        VAT(model, eps=1.0)
