import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from kexue.objectives import (
    FocalLoss,
    LogitAdjustedCrossEntropy,
    class_weighted_cross_entropy,
    class_weights,
    focal_loss,
    logit_adjusted_cross_entropy,
    logit_adjustment,
    prior_from_counts,
    smooth_f1,
    smooth_f1_cross_entropy,
    smoothed_accuracy,
    softmax_focal_loss,
)

PRIOR = torch.tensor([0.7, 0.2, 0.08, 0.02], dtype=torch.float64)


def _data(n=12, c=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g, dtype=torch.float64), torch.randint(
        0, c, (n,), generator=g
    )


def test_uniform_prior_or_zero_tau_is_plain_ce():
    logits, y = _data()
    ce = F.cross_entropy(logits, y)
    assert_close(logit_adjusted_cross_entropy(logits, y, torch.full((4,), 0.25)), ce)
    assert_close(logit_adjusted_cross_entropy(logits, y, PRIOR, tau=0.0), ce)


def test_two_closed_forms_agree_with_numpy_reference():
    logits, y = _data()
    tau = 1.3
    f, p, t = logits.numpy(), PRIOR.numpy(), y.numpy()
    ref = []
    for i in range(len(t)):
        others = [j for j in range(4) if j != t[i]]
        ref.append(
            np.log1p(sum((p[j] / p[t[i]]) ** tau * np.exp(f[i, j] - f[i, t[i]]) for j in others))
        )
    got = logit_adjusted_cross_entropy(logits, y, PRIOR, tau, reduction="none")
    assert_close(got, torch.tensor(ref, dtype=torch.float64), rtol=1e-12, atol=1e-12)


def test_gradient_is_adjusted_softmax_minus_onehot():
    logits, y = _data()
    logits.requires_grad_()
    logit_adjusted_cross_entropy(logits, y, PRIOR, reduction="sum").backward()
    expected = F.softmax(logits.detach() + PRIOR.log(), 1) - F.one_hot(y, 4)
    assert_close(logits.grad, expected)


def test_post_hoc_adjustment_and_module():
    logits, y = _data()
    assert_close(logit_adjustment(logits, PRIOR, 1.0), logits - PRIOR.log())
    mod = LogitAdjustedCrossEntropy(PRIOR, 1.0)
    assert_close(mod(logits, y), logit_adjusted_cross_entropy(logits, y, PRIOR))
    assert_close(mod.adjust(logits), logits + PRIOR.log())


def test_ignore_index_and_nd_shapes_match_cross_entropy():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 4, 5, generator=g)
    y = torch.randint(0, 4, (3, 5), generator=g)
    y[0, 0] = -100
    uni = torch.full((4,), 0.25)
    for red in ("mean", "sum", "none"):
        assert_close(
            logit_adjusted_cross_entropy(logits, y, uni, reduction=red),
            F.cross_entropy(logits, y, reduction=red),
        )
        assert_close(
            softmax_focal_loss(logits, y, gamma=0.0, reduction=red),
            F.cross_entropy(logits, y, reduction=red),
        )


def test_post_hoc_rule_raises_balanced_accuracy_on_synthetic_long_tail():
    # Three Gaussian classes with priors 0.9 / 0.09 / 0.01 (spec note 5a, test 3).
    g = torch.Generator().manual_seed(0)
    counts = [2700, 270, 30]
    means = torch.tensor([[0.0, 0.0], [1.5, 0.0], [0.0, 1.5]])
    x = torch.cat([torch.randn(n, 2, generator=g) + means[k] for k, n in enumerate(counts)])
    y = torch.cat([torch.full((n,), k) for k, n in enumerate(counts)])
    xt = torch.cat([torch.randn(1000, 2, generator=g) + means[k] for k in range(3)])
    yt = torch.arange(3).repeat_interleave(1000)
    prior = prior_from_counts(counts).float()

    def fit(loss_fn):
        lin = torch.nn.Linear(2, 3)
        opt = torch.optim.LBFGS(lin.parameters(), max_iter=200, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = loss_fn(lin(x), y)
            loss.backward()
            return loss

        opt.step(closure)
        return lin

    def balanced(pred):
        return float(torch.stack([(pred[yt == k] == k).float().mean() for k in range(3)]).mean())

    plain = fit(F.cross_entropy)
    adjusted = fit(lambda f, t: logit_adjusted_cross_entropy(f, t, prior))
    with torch.no_grad():
        raw = balanced(plain(xt).argmax(1))
        post = balanced(logit_adjustment(plain(xt), prior).argmax(1))
        la = balanced(adjusted(xt).argmax(1))
        # Bayes-optimal balanced rule: argmax log p(x|y) = nearest mean.
        bayes = balanced((-((xt[:, None] - means) ** 2)).sum(-1).argmax(1))
    assert post > raw + 0.1 and la > raw + 0.1
    assert abs(post - bayes) < 0.03 and abs(la - bayes) < 0.03


def test_class_weights_normalisation_and_weighted_ce():
    w = class_weights(PRIOR)
    assert_close((PRIOR * w).sum(), torch.tensor(1.0, dtype=torch.float64))
    assert_close(w / w[0], PRIOR[0] / PRIOR)
    logits, y = _data()
    assert_close(
        class_weighted_cross_entropy(logits, y, PRIOR, power=0.5),
        F.cross_entropy(logits, y, weight=class_weights(PRIOR, 0.5)),
    )


def _np_sigmoid_focal(x, t, alpha, gamma):
    p = 1 / (1 + np.exp(-x))
    ce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    p_t = p * t + (1 - p) * (1 - t)
    a_t = alpha * t + (1 - alpha) * (1 - t)
    return a_t * (1 - p_t) ** gamma * ce


def test_focal_matches_float64_reference_and_gamma0_is_weighted_bce():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(50, generator=g, dtype=torch.float64) * 3
    t = torch.randint(0, 2, (50,), generator=g).double()
    ref = _np_sigmoid_focal(x.numpy(), t.numpy(), 0.25, 2.0)
    assert_close(focal_loss(x, t, reduction="none"), torch.from_numpy(ref))
    weights = 0.25 * t + 0.75 * (1 - t)
    bce = F.binary_cross_entropy_with_logits(x, t, weight=weights)
    assert_close(focal_loss(x, t, gamma=0.0), bce)
    assert_close(FocalLoss(2.0, None)(x, t), focal_loss(x, t, 2.0, None))
    # gamma > 0 down-weights easy examples.
    assert float(focal_loss(x, t, 2.0, None)) < float(focal_loss(x, t, 0.0, None))


def test_smooth_f1_gradient_and_weighted_ce():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(40, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 2, (40,), generator=g).double()
    f1 = smooth_f1(x, y, eps=0.0)
    (grad,) = torch.autograd.grad(-f1, x)
    p = torch.sigmoid(x.detach())
    # -dF1/dx_i = -2 (y_i - F1/2) p_i (1 - p_i) / sum(y + p)  (7708)
    expected = -2 * (y - f1.detach() / 2) * p * (1 - p) / (y + p).sum()
    assert_close(grad, expected)
    # SoftF1 identity: 2TP / (2TP + FP + FN)
    tp, fp, fn = (y * p).sum(), ((1 - y) * p).sum(), (y * (1 - p)).sum()
    assert_close(f1.detach(), 2 * tp / (2 * tp + fp + fn))
    # The weighted CE's gradient points along the smooth-F1 ascent direction after the
    # grad p -> grad log p substitution: its per-sample weights are y(1-F/2), (1-y)F/2.
    loss = smooth_f1_cross_entropy(x, y, reduction="sum")
    (gl,) = torch.autograd.grad(loss, x)
    f = f1.detach()
    assert_close(gl, -(y * (1 - f / 2) * (1 - p)) + (1 - y) * (f / 2) * p)


def test_smoothed_accuracy_gradient_vanishes_for_wrong_samples():
    logits = torch.tensor([[8.0, -8.0], [-8.0, 8.0]], requires_grad=True)
    y = torch.tensor([1, 1])  # first badly wrong, second right
    acc = smoothed_accuracy(logits, y, reduction="none")
    assert_close(acc.detach(), F.softmax(logits.detach(), 1)[:, 1])
    (ga,) = torch.autograd.grad(acc.sum(), logits)
    (gc,) = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), logits)
    assert ga[0].abs().max() < 1e-6 and gc[0].abs().max() > 0.99


@pytest.mark.parametrize(
    "prior, msg",
    [
        (torch.tensor([0.5, 0.5, 0.0, 0.0]), "strictly positive"),
        (torch.tensor([0.5, 0.3, 0.1, 0.05]), "sum to 1"),
        (torch.tensor([0.5, 0.5]), "2 entries"),
        (torch.tensor([0.5, float("nan"), 0.25, 0.25]), "non-finite"),
        (torch.ones(2, 2) / 4, "1-D"),
    ],
)
def test_bad_prior(prior, msg):
    logits, y = _data()
    with pytest.raises(ValueError, match=msg):
        logit_adjusted_cross_entropy(logits, y, prior)


def test_bad_targets_and_logits():
    logits, y = _data()
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        logit_adjusted_cross_entropy(logits, torch.full_like(y, 4), PRIOR)
    with pytest.raises(ValueError, match="does not match"):
        logit_adjusted_cross_entropy(logits, y[:-1], PRIOR)
    with pytest.raises(TypeError, match="integer"):
        logit_adjusted_cross_entropy(logits, y.double(), PRIOR)
    bad = logits.clone()
    bad[0, 0] = float("inf")
    with pytest.raises(ValueError, match="non-finite"):
        logit_adjusted_cross_entropy(bad, y, PRIOR)
    with pytest.raises(ValueError, match="reduction"):
        logit_adjusted_cross_entropy(logits, y, PRIOR, reduction="avg")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        focal_loss(torch.zeros(3), torch.tensor([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="counts"):
        prior_from_counts([3, 0, 1])


def _top_level_operator(expr):
    depth, best, best_prec = 0, None, 9
    for i, ch in enumerate(expr):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and ch in "+-*/" and not (ch == "-" and (i == 0 or expr[i - 1] in "(*/+-")):
            if ch == "*" and "**" in expr:
                return None
            prec = 0 if ch in "+-" else 1
            if prec <= best_prec:
                best, best_prec = ch, prec
    return best


def test_real_data_long_tail_ape210k(shared_data):
    # Real-data direction check: on a long-tailed Ape210K "last operator" task, the LA loss and
    # the post-hoc rule beat plain CE on balanced accuracy (see experiments/objectives_long_tail).
    import json
    import zlib

    path = shared_data("ape210k", "valid.ape.json")
    classes = ["/", "*", "-", "+"]
    rows = []
    for line in path.read_text("utf-8").splitlines():
        d = json.loads(line)
        op = _top_level_operator(d["equation"].replace(" ", "")[2:])
        if op in classes:
            rows.append((d["original_text"], classes.index(op)))
    g = torch.Generator().manual_seed(0)
    buckets = 2048

    def featurize(texts):
        pairs = [
            (i, zlib.crc32(gram.encode()) % buckets)
            for i, t in enumerate(texts)
            for j in range(len(t))
            for gram in (t[j], t[j : j + 2])
        ]
        idx = torch.tensor(pairs).T
        x = torch.zeros(len(texts), buckets).index_put_(
            (idx[0], idx[1]), torch.ones(idx.shape[1]), accumulate=True
        )
        return x / x.norm(dim=1, keepdim=True).clamp_min(1e-6)

    train, test, counts = [], [], [1200, 240, 80, 24]
    for k in range(4):
        cls = [r for r in rows if r[1] == k]
        perm = torch.randperm(len(cls), generator=g).tolist()
        test += [cls[i] for i in perm[:100]]
        train += [cls[i] for i in perm[100 : 100 + counts[k]]]
    xtr = featurize([t for t, _ in train])
    ytr = torch.tensor([y for _, y in train])
    xte = featurize([t for t, _ in test])
    yte = torch.tensor([y for _, y in test])
    prior = prior_from_counts(counts).float()

    def fit(loss_fn):
        torch.manual_seed(0)
        lin = torch.nn.Linear(buckets, 4)
        opt = torch.optim.Adam(lin.parameters(), lr=0.05)
        for _ in range(150):
            opt.zero_grad()
            (loss_fn(lin(xtr), ytr) + 1e-4 * lin.weight.pow(2).sum()).backward()
            opt.step()
        with torch.no_grad():
            return lin(xte)

    def balanced(pred):
        return float(torch.stack([(pred[yte == k] == k).float().mean() for k in range(4)]).mean())

    ce_logits = fit(F.cross_entropy)
    la_logits = fit(lambda f, t: logit_adjusted_cross_entropy(f, t, prior))
    ce = balanced(ce_logits.argmax(1))
    assert balanced(la_logits.argmax(1)) > ce + 0.05
    assert balanced(logit_adjustment(ce_logits, prior).argmax(1)) > ce + 0.05


def _np_softmax_focal(x: np.ndarray, t: np.ndarray, gamma: float, w: np.ndarray | None):
    """float64 reference, one position at a time: -w_y (1 - p_y)^gamma log p_y (0 if ignored)."""
    out = np.zeros(t.shape)
    for idx in np.ndindex(t.shape):
        if t[idx] < 0:
            continue
        row = x[(idx[0], slice(None)) + idx[1:]]
        logp = row - row.max() - np.log(np.exp(row - row.max()).sum())
        p_y = np.exp(logp[t[idx]])
        out[idx] = -(1.0 - p_y) ** gamma * logp[t[idx]] * (1.0 if w is None else w[t[idx]])
    return out


@pytest.mark.parametrize("gamma", [2.0, 0.5])
@pytest.mark.parametrize("weighted", [False, True])
def test_softmax_focal_loss_matches_float64_reference(gamma, weighted):
    """gamma = 2 (the long-tail table's row) and 0.5, with and without class weights, on
    (N, C) and (N, C, L) logits with an ignored position; ``mean`` divides by the number of
    kept positions, not by the total weight."""
    g = torch.Generator().manual_seed(7)
    w = torch.tensor([0.3, 2.5, 1.0, 4.0], dtype=torch.float64) if weighted else None
    for shape in [(12, 4), (3, 4, 5)]:
        logits = torch.randn(shape, generator=g, dtype=torch.float64) * 2.0
        tshape = (shape[0],) + shape[2:]
        y = torch.randint(0, 4, tshape, generator=g)
        y.view(-1)[1] = -100
        ref = _np_softmax_focal(logits.numpy(), y.numpy(), gamma,
                                None if w is None else w.numpy())
        got = softmax_focal_loss(logits, y, gamma=gamma, weight=w, reduction="none")
        assert_close(got, torch.from_numpy(ref), rtol=1e-12, atol=1e-14)
        kept = int((y >= 0).sum())
        assert_close(softmax_focal_loss(logits, y, gamma=gamma, weight=w, reduction="sum"),
                     torch.tensor(ref.sum(), dtype=torch.float64), rtol=1e-12, atol=1e-14)
        assert_close(softmax_focal_loss(logits, y, gamma=gamma, weight=w),
                     torch.tensor(ref.sum() / kept, dtype=torch.float64), rtol=1e-12, atol=1e-14)
    # the focusing term really matters here: easy positions are far from plain (weighted) CE
    ce = F.cross_entropy(logits, y, weight=w, reduction="none")
    assert float((got - ce).abs().max()) > 0.1


def test_softmax_focal_gradient_matches_closed_form():
    """d/ds_j of -(1-p)^g log p (p = p_y) is (dL/dp)(dp/ds_j), dp/ds_j = p (1[j=y] - p_j),
    dL/dp = g (1-p)^(g-1) log p - (1-p)^g / p."""
    g = torch.Generator().manual_seed(8)
    logits = torch.randn(6, 5, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 5, (6,), generator=g)
    gamma = 2.0
    w = torch.tensor([1.0, 0.5, 2.0, 3.0, 0.25], dtype=torch.float64)
    softmax_focal_loss(logits, y, gamma=gamma, weight=w, reduction="sum").backward()
    p = torch.softmax(logits.detach(), 1)
    p_y = p.gather(1, y[:, None])
    dl_dp = gamma * (1 - p_y) ** (gamma - 1) * p_y.log() - (1 - p_y) ** gamma / p_y
    expected = w[y][:, None] * dl_dp * p_y * (F.one_hot(y, 5) - p)
    assert_close(logits.grad, expected, rtol=1e-10, atol=1e-12)


def test_smooth_macro_f1_equals_hard_macro_f1_on_one_hot_predictions():
    from kexue.objectives import smooth_macro_f1

    y = torch.tensor([0, 0, 1, 2, 2, 2, 1, 0])
    pred = torch.tensor([0, 1, 1, 2, 0, 2, 1, 1])
    logits = torch.nn.functional.one_hot(pred, 3).double() * 1e4  # softmax = one-hot
    hard = 0.0
    for c in range(3):  # mean over classes of 2TP / (|true| + |pred|)
        tp = int(((y == c) & (pred == c)).sum())
        hard += 2 * tp / (int((y == c).sum()) + int((pred == c).sum())) / 3
    torch.testing.assert_close(smooth_macro_f1(logits, y, eps=0.0).item(), hard)
    soft = smooth_macro_f1(torch.randn(8, 3, requires_grad=True), y)
    soft.backward()
    assert 0 < soft.item() < 1
