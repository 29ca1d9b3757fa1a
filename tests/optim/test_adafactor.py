"""AdaFactor: parity with transformers, the article's closed-form properties, memory."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close
from transformers.optimization import Adafactor as HFAdafactor

from kexue.optim import AdaFactor
from kexue.optim.adafactor import adafactor_beta2_hat, factored_dims

SHAPES = [(6, 9), (17, 4), (32, 32), (11,), (3,)]


def _gradients(dtype, steps, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [
        [torch.randn(s, generator=gen, dtype=dtype) * (0.05 + (i % 7)) for s in SHAPES]
        for i in range(steps)
    ]


def _pair(dtype):
    gen = torch.Generator().manual_seed(1)
    init = [torch.randn(s, generator=gen, dtype=dtype) for s in SHAPES]
    ours = [t.clone().requires_grad_() for t in init]
    theirs = [t.clone().requires_grad_() for t in init]
    return init, ours, theirs


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_matches_transformers_adafactor_step_for_step(dtype):
    init, ours, theirs = _pair(dtype)
    a = AdaFactor(ours, lr=1e-2, min_dim_size_to_factor=0)  # factoring forced on
    b = HFAdafactor(theirs, lr=1e-2, relative_step=False, scale_parameter=True,
                    warmup_init=False, beta1=None)
    for grads in _gradients(dtype, 100):
        for p, q, g in zip(ours, theirs, grads):
            p.grad = g.clone()
            q.grad = g.clone()
        a.step()
        b.step()
        for p, q in zip(ours, theirs):
            if dtype == torch.float64:
                assert_close(p, q, rtol=1e-10, atol=1e-12)
            else:
                assert float((p - q).detach().norm() / q.detach().norm()) <= 1e-5
    for p, x in zip(theirs, init):  # the parameters moved: the comparison is not vacuous
        assert float((p.detach() - x).abs().max()) > 1e-2
    assert "exp_avg_sq_row" in a.state[ours[0]] and "exp_avg_sq" in a.state[ours[3]]


def test_update_clipping_bounds_rms_of_the_scaled_update_every_step():
    torch.manual_seed(0)
    d = 0.5
    p = torch.randn(40, 30, dtype=torch.float64, requires_grad=True)
    lr, eps2 = 1e-2, 1e-3
    opt = AdaFactor([p], lr=lr, clip_threshold=d, min_dim_size_to_factor=0)
    ratios = []
    for t in range(60):
        # heavy-tailed, changing gradients make the factored u large at times
        g = torch.randn(40, 30, dtype=torch.float64) ** 3 * (1 + 10 * (t % 5 == 0))
        before = p.detach().clone()
        p.grad = g
        opt.step()
        scale = lr * max(eps2, float(before.pow(2).mean().sqrt()))
        u = (p.detach() - before) / scale
        ratios.append(float(u.pow(2).mean().sqrt()))
    assert max(ratios) <= d * (1 + 1e-12)
    assert sum(r > d * (1 - 1e-9) for r in ratios) >= 5  # clipping was really active
    assert min(ratios) < d * 0.99  # ...and not always


def test_scaling_the_loss_leaves_the_trajectory_unchanged():
    torch.manual_seed(0)
    x = torch.randn(64, 20, dtype=torch.float64)
    y = torch.randn(64, 3, dtype=torch.float64)
    w0 = torch.randn(20, 3, dtype=torch.float64)
    finals = []
    for c in (1.0, 1000.0, 1e-3):
        w = w0.clone().requires_grad_()
        b = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        opt = AdaFactor([w, b], lr=1e-2, min_dim_size_to_factor=0)
        for _ in range(30):
            loss = c * ((x @ w + b - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        finals.append((w.detach(), b.detach()))
    for w, b in finals[1:]:
        assert_close(w, finals[0][0], rtol=1e-9, atol=1e-12)
        assert_close(b, finals[0][1], rtol=1e-9, atol=1e-12)
    assert float((finals[0][0] - w0).abs().max()) > 0.05


def test_state_of_an_m_by_n_matrix_holds_m_plus_n_numbers():
    w = torch.zeros(300, 200, requires_grad=True)
    v = torch.zeros(300, requires_grad=True)
    opt = AdaFactor([w, v])
    w.grad = torch.randn_like(w)
    v.grad = torch.randn_like(v)
    opt.step()
    sizes = {k: t.numel() for k, t in opt.state[w].items() if torch.is_tensor(t)}
    assert sum(sizes.values()) == 300 + 200
    assert opt.state[v]["exp_avg_sq"].numel() == 300
    with_momentum = AdaFactor([w], beta1=0.9)
    w.grad = torch.randn_like(w)
    with_momentum.step()
    n = sum(t.numel() for t in with_momentum.state[w].values() if torch.is_tensor(t))
    assert n == 300 + 200 + 300 * 200


def test_first_step_of_a_rank_one_squared_gradient_is_sign_of_g():
    # beta2_hat_1 = 0: v_hat is the exact rank-1 fit of g^2; if g^2 is rank 1, u = sign(g)
    a = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    b = torch.tensor([0.2, -1.0, 4.0], dtype=torch.float64)
    g = torch.outer(a, b)
    p = torch.full((4, 3), 2.0, dtype=torch.float64, requires_grad=True)
    opt = AdaFactor([p], lr=0.1, eps=(0.0, 1e-3), min_dim_size_to_factor=0)
    p.grad = g
    opt.step()
    assert_close(p.detach(), 2.0 - 0.1 * 2.0 * torch.sign(g), rtol=1e-12, atol=0)


def test_beta2_schedule_values():
    assert adafactor_beta2_hat(1, None) == 0.0
    assert adafactor_beta2_hat(2, None) == pytest.approx(0.42565, abs=1e-5)
    assert adafactor_beta2_hat(10, None) == pytest.approx(0.84151, abs=1e-5)
    # a constant beta2 is bias-corrected: beta2 (1 - beta2^(t-1)) / (1 - beta2^t)
    assert adafactor_beta2_hat(1, 0.999) == 0.0
    assert adafactor_beta2_hat(3, 0.999) == pytest.approx(0.999 * (1 - 0.999**2) / (1 - 0.999**3))


def test_i_divergence_closed_form_is_optimal():
    torch.manual_seed(0)
    c = torch.rand(7, 5, dtype=torch.float64) + 0.01

    def loss(a, b):
        ab = torch.outer(a, b)
        return float((c * torch.log(c / ab) - c + ab).sum())

    a = c.sum(1)
    b = c.sum(0) / c.sum()
    best = loss(a, b)
    for _ in range(100):
        pa = a * torch.exp(0.05 * torch.randn(7, dtype=torch.float64))
        pb = b * torch.exp(0.05 * torch.randn(5, dtype=torch.float64))
        assert loss(pa, pb) >= best - 1e-12
    f64 = torch.float64
    rank1 = torch.outer(torch.rand(7, dtype=f64) + 0.1, torch.rand(5, dtype=f64))
    assert_close(torch.outer(rank1.sum(1), rank1.sum(0) / rank1.sum()), rank1)


def test_factored_dims_pick_the_two_largest_axes():
    assert factored_dims((300, 200), 128) == (0, 1)
    assert factored_dims((300, 100), 128) is None  # second-largest axis below the threshold
    assert factored_dims((300,), 0) is None
    assert factored_dims((3, 256, 5, 512), 128) == (1, 3)
    assert factored_dims((64, 3, 3, 64), 0) == (0, 3)


def test_higher_rank_tensor_is_factored_and_trains():
    torch.manual_seed(0)
    p = torch.randn(4, 160, 3, 130, requires_grad=True)
    target = torch.randn_like(p)
    opt = AdaFactor([p], lr=1e-2)
    first = None
    for _ in range(30):
        loss = ((p - target) ** 2).mean()
        first = first or loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    state = opt.state[p]
    assert state["exp_avg_sq_row"].shape == (4, 160, 3, 1)
    assert state["exp_avg_sq_col"].shape == (4, 1, 3, 130)
    assert loss.item() < first


def test_relative_step_and_momentum_options():
    p = torch.ones(3, dtype=torch.float64, requires_grad=True)
    opt = AdaFactor([p], lr=None, scale_parameter=False)
    p.grad = torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64)
    opt.step()  # alpha_1 = min(1e-2, 1/sqrt(1)) = 1e-2, u = sign(g) at t = 1
    assert_close(p.detach(), 1.0 - 1e-2 * torch.sign(p.grad))
    q = torch.ones(3, dtype=torch.float64, requires_grad=True)
    capped = AdaFactor([q], lr=1e-3, relative_step=True, scale_parameter=False)
    q.grad = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)
    capped.step()
    assert_close(q.detach(), torch.full((3,), 1.0 - 1e-3, dtype=torch.float64))
    # momentum on the clipped update: m_1 = (1 - beta1) u_1
    r = torch.ones(3, dtype=torch.float64, requires_grad=True)
    mom = AdaFactor([r], lr=0.1, beta1=0.9, scale_parameter=False)
    r.grad = torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64)
    mom.step()
    assert_close(r.detach(), 1.0 - 0.1 * 0.1 * torch.sign(r.grad))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": -1.0}, "lr"),
        ({"beta1": 1.0}, "beta1"),
        ({"beta2": 1.0}, "beta2"),
        ({"eps": (-1.0, 1e-3)}, "eps1"),
        ({"clip_threshold": 0.0}, "clip_threshold"),
        ({"decay_rate": 1.5}, "decay_rate"),
        ({"min_dim_size_to_factor": -1}, "min_dim_size_to_factor"),
    ],
)
def test_bad_hyperparameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AdaFactor([torch.zeros(2, requires_grad=True)], **kwargs)


def test_sparse_gradient_raises_clearly():
    emb = torch.nn.Embedding(10, 3, sparse=True)
    opt = AdaFactor(emb.parameters())
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(ValueError, match="sparse"):
        opt.step()


def test_low_precision_parameters_track_float32():
    torch.manual_seed(0)
    for dtype in (torch.bfloat16, torch.float16):
        ref = torch.randn(64, 48)
        lo = ref.to(dtype).requires_grad_()
        hi = lo.detach().float().requires_grad_()
        a = AdaFactor([lo], lr=1e-2, min_dim_size_to_factor=0)
        b = AdaFactor([hi], lr=1e-2, min_dim_size_to_factor=0)
        init = hi.detach().clone()
        for _ in range(10):
            g = torch.randn(64, 48) * 1e-3
            lo.grad = g.to(dtype)
            hi.grad = lo.grad.float()
            a.step()
            b.step()
        assert lo.dtype == dtype and a.state[lo]["exp_avg_sq_row"].dtype == torch.float32
        # the deviation from the float32 run, relative to how far that run moved: measured 0.17
        # (bfloat16) and 0.02 (float16); a parameter that never updates scores 1.0
        moved = float((hi.detach() - init).norm())
        assert moved > 1.0
        deviation = float((lo.detach().float() - hi.detach()).norm()) / moved
        assert deviation <= (0.3 if dtype == torch.bfloat16 else 0.05), deviation
        assert math.isfinite(float(lo.detach().float().sum()))


def test_empty_parameters_are_skipped():
    empty = torch.zeros(0, 5, requires_grad=True)
    full = torch.ones(3, requires_grad=True)
    opt = AdaFactor([empty, full], lr=0.1)
    empty.grad = torch.zeros(0, 5)
    full.grad = torch.ones(3)
    opt.step()
    assert torch.isfinite(full).all() and float(full.detach().sum()) < 3.0


# ----------------------------------------------------------------------------- float64 reference
# An independent float64 NumPy AdaFactor written from the paper's Algorithms 4-5 and the
# article (7302): factored second moment over the two largest axes of any rank, update clipping
# on the RMS of the whole tensor, momentum on the clipped update.


def _ref_factored_axes(shape, min_dim):
    if len(shape) < 2:
        return None
    order = np.argsort([s + d / 1000 for d, s in enumerate(shape)])[::-1]  # ties: later axis
    i, j = sorted(int(a) for a in order[:2])
    return (i, j) if shape[order[1]] >= min_dim else None


def _ref_adafactor(init, grads, *, lr, beta1, clip, eps1=1e-30, eps2=1e-3, min_dim=0):
    """Trajectory of every parameter (float64) and, per step, the RMS of each unclipped
    update ``g / sqrt(v_hat)`` (to show that clipping was active)."""
    theta = [np.array(x, dtype=np.float64) for x in init]
    state = [{} for _ in theta]
    traj, rms_log = [], []
    for t, gs in enumerate(grads, start=1):
        w = t ** -0.8  # 1 - beta2_hat_t with beta2_hat_t = 1 - t^-0.8
        rms_now = []
        for k, (x, g, st) in enumerate(zip(theta, gs, state)):
            g = np.asarray(g, dtype=np.float64)
            axes = _ref_factored_axes(g.shape, min_dim)
            if axes is None:
                st["v"] = (1 - w) * st.get("v", 0.0) + w * (g * g + eps1)
                v_hat = st["v"]
            else:
                i, j = axes
                g2 = g * g + eps1
                st["r"] = (1 - w) * st.get("r", 0.0) + w * g2.mean(axis=j, keepdims=True)
                st["c"] = (1 - w) * st.get("c", 0.0) + w * g2.mean(axis=i, keepdims=True)
                v_hat = st["r"] * st["c"] / st["r"].mean(axis=i, keepdims=True)
            u = g / np.sqrt(v_hat)
            rms_u = np.sqrt(np.mean(u * u))
            rms_now.append(rms_u)
            u_hat = u / max(1.0, rms_u / clip)
            if beta1:
                st["m"] = beta1 * st.get("m", 0.0) + (1 - beta1) * u_hat
                u_hat = st["m"]
            scale = max(eps2, np.sqrt(np.mean(x * x)))
            theta[k] = x - lr * scale * u_hat
        traj.append([x.copy() for x in theta])
        rms_log.append(rms_now)
    return traj, np.array(rms_log)


# matrices, a rank-3 and two rank-4 tensors (factored over their two largest axes, which are
# not always the last two), and a vector
REF_SHAPES = [(12, 9), (7, 20), (3, 16, 11), (2, 30, 3, 17), (5, 2, 19, 13), (10,)]


def _heavy_tailed_gradients(steps, seed):
    """Gradients whose scale jumps every few steps, so the update clipping engages often."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for t in range(steps):
        burst = 8.0 if t % 4 == 1 else 1.0
        out.append([torch.randn(s, generator=gen, dtype=torch.float64) ** 3 * burst
                    for s in REF_SHAPES])
    return out


@pytest.mark.parametrize("beta1", [0.9, None])
def test_momentum_and_clipping_of_factored_tensors_match_a_float64_reference(beta1):
    """Every step of AdaFactor with momentum (beta1=0.9) on matrices and rank-3/4 tensors,
    with the update clipping active at many steps, equals the float64 reference to 1e-10."""
    steps, lr, d = 25, 0.05, 0.8
    gen = torch.Generator().manual_seed(3)
    init = [torch.randn(s, generator=gen, dtype=torch.float64) for s in REF_SHAPES]
    params = [x.clone().requires_grad_() for x in init]
    opt = AdaFactor(params, lr=lr, beta1=beta1, clip_threshold=d, min_dim_size_to_factor=0)
    grads = _heavy_tailed_gradients(steps, seed=4)
    ref, rms = _ref_adafactor([x.numpy() for x in init], [[g.numpy() for g in gs] for gs in grads],
                              lr=lr, beta1=beta1, clip=d)
    for t, gs in enumerate(grads):
        for p, g in zip(params, gs):
            p.grad = g.clone()
        opt.step()
        for p, r in zip(params, ref[t]):
            assert_close(p.detach(), torch.from_numpy(r), rtol=1e-10, atol=1e-12)
    # the paths under test were really taken
    for p, s in zip(params, REF_SHAPES):
        assert ("exp_avg_sq_row" in opt.state[p]) == (len(s) >= 2)
        assert ("exp_avg" in opt.state[p]) == bool(beta1)
    clipped = rms > d
    assert clipped[:, :5].sum(0).min() >= 5, clipped.sum(0)  # every >=2-D tensor clipped often
    assert (~clipped[1:]).any()  # ...but not at every step
    for p, x in zip(params, init):
        assert float((p.detach() - x).abs().max()) > 0.05


def test_momentum_on_matrices_matches_transformers():
    """A second reference: with scale_parameter=False and a constant lr, transformers'
    momentum on ``lr * u_hat`` equals ours on ``u_hat`` (a 2-D and a rank-4 tensor whose two
    largest axes are the last two, as transformers factors)."""
    shapes = [(14, 10), (2, 3, 16, 12)]
    gen = torch.Generator().manual_seed(5)
    init = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
    ours = [x.clone().requires_grad_() for x in init]
    theirs = [x.clone().requires_grad_() for x in init]
    a = AdaFactor(ours, lr=1e-2, beta1=0.9, clip_threshold=0.7, scale_parameter=False,
                  min_dim_size_to_factor=0)
    b = HFAdafactor(theirs, lr=1e-2, beta1=0.9, clip_threshold=0.7, scale_parameter=False,
                    relative_step=False, warmup_init=False)
    for t in range(20):
        for p, q, s in zip(ours, theirs, shapes):
            g = torch.randn(s, generator=gen, dtype=torch.float64) ** 3 * (8.0 if t % 3 else 1.0)
            p.grad, q.grad = g.clone(), g.clone()
        a.step()
        b.step()
        for p, q in zip(ours, theirs):
            assert_close(p, q, rtol=1e-10, atol=1e-12)
    for p, x in zip(ours, init):
        assert float((p.detach() - x).abs().max()) > 0.02


@pytest.mark.parametrize("shape", [(3, 40, 30), (4, 2, 25, 3, 18)])
def test_update_clipping_of_higher_rank_tensors_follows_the_formula(shape):
    """Rank > 2: the applied update is ``u / max(1, RMS(u) / d)`` with ``u = g / sqrt(v_hat)``
    and ``v_hat = r c / mean(r)`` over the two largest axes (other axes a batch); RMS over the
    whole tensor. At step 1 (beta2_hat = 0) ``r`` and ``c`` are the means of ``g^2 + eps1``."""
    d, lr = 0.5, 1e-2
    gen = torch.Generator().manual_seed(6)
    p = torch.randn(shape, generator=gen, dtype=torch.float64, requires_grad=True)
    before = p.detach().clone()
    # a gradient far from rank 1 in its factored axes, so that RMS(u) > 1 > d
    g = torch.randn(shape, generator=gen, dtype=torch.float64) ** 3
    opt = AdaFactor([p], lr=lr, clip_threshold=d, min_dim_size_to_factor=0, eps=(0.0, 1e-3))
    p.grad = g
    opt.step()
    i, j = factored_dims(shape, 0)
    r = (g * g).mean(dim=j, keepdim=True)
    c = (g * g).mean(dim=i, keepdim=True)
    u = g / torch.sqrt(r * c / r.mean(dim=i, keepdim=True))
    rms = float(u.pow(2).mean().sqrt())
    assert rms > 1.5 * d  # clipping is active
    scale = lr * float(before.pow(2).mean().sqrt())
    assert_close(p.detach(), before - scale * u / (rms / d), rtol=1e-12, atol=1e-14)
    applied = (before - p.detach()) / scale
    assert float(applied.pow(2).mean().sqrt()) == pytest.approx(d, rel=1e-12)
