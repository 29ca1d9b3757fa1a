import pytest
import torch

from kexue.objectives import (
    balanced_batches,
    discriminator_probabilities,
    importance_weights,
    roc_auc,
    sample_validation,
)


def _ks(a, b):
    grid = torch.cat([a, b]).sort().values
    fa = torch.searchsorted(a.sort().values, grid, right=True) / len(a)
    fb = torch.searchsorted(b.sort().values, grid, right=True) / len(b)
    return float((fa - fb).abs().max())


def test_gaussian_shift_importance_weights_recover_test_mean():
    # p = N(0, 1) train, q = N(1, 1) test: w(x) = exp(x - 1/2) (spec note 8, test 1).
    g = torch.Generator().manual_seed(0)
    xp = torch.randn(6000, 1, generator=g, dtype=torch.float64)
    xq = torch.randn(3000, 1, generator=g, dtype=torch.float64) + 1.0
    dp, dq = discriminator_probabilities(xp, xq, folds=3, epochs=3, lr=0.05, generator=g)
    w = importance_weights(dp)
    x = xp[:, 0]
    weighted_mean = float((w * x).sum() / w.sum())
    d_weighted_mean = float((dp * x).sum() / dp.sum())
    assert abs(weighted_mean - 1.0) < 0.12
    assert d_weighted_mean < 0.8  # weighting by D itself is biased
    mid = (x > -1.5) & (x < 2.5)
    slope = torch.linalg.lstsq(
        torch.stack([x[mid], torch.ones_like(x[mid])], 1), w[mid].log()[:, None]
    ).solution.flatten()
    assert abs(float(slope[0]) - 1.0) < 0.15 and abs(float(slope[1]) + 0.5) < 0.15
    assert 0.70 < roc_auc(dp, dq) < 0.80  # Bayes AUC for unit shift is Phi(1/sqrt 2) = 0.760

    # sampled validation set is closer to q than a random split
    idx = sample_validation(w, 1000, generator=g)
    rnd = torch.randint(0, 6000, (1000,), generator=g)
    assert _ks(x[idx], xq[:, 0]) < 0.5 * _ks(x[rnd], xq[:, 0])


def test_sampling_is_with_replacement_and_keeps_duplicates():
    w = torch.tensor([100.0, 1.0, 1.0, 0.0])
    idx = sample_validation(w, 500, generator=torch.Generator().manual_seed(0))
    assert len(idx) == 500 and int((idx == 0).sum()) > 400 and int((idx == 3).sum()) == 0


def test_balanced_batches_are_half_and_half():
    g = torch.Generator().manual_seed(0)
    batches = list(balanced_batches(1000, 90, 64, generator=g))
    assert all(len(a) == 32 and len(b) == 32 for a, b in batches)
    seen = torch.cat([a for a, _ in batches])
    assert len(torch.unique(seen)) == 1000  # the larger side is covered once
    assert int(torch.cat([b for _, b in batches]).max()) < 90


def test_roc_auc_matches_pairwise_definition():
    g = torch.Generator().manual_seed(2)
    a = torch.randint(0, 5, (40,), generator=g).double()
    b = torch.randint(0, 5, (30,), generator=g).double() + 1
    pairs = (b[None, :] > a[:, None]).double() + 0.5 * (b[None, :] == a[:, None]).double()
    assert abs(roc_auc(a, b) - float(pairs.mean())) < 1e-12


def test_bad_inputs():
    with pytest.raises(ValueError, match="columns"):
        discriminator_probabilities(torch.zeros(10, 2), torch.zeros(10, 3))
    with pytest.raises(ValueError, match="non-finite"):
        discriminator_probabilities(torch.full((10, 2), float("nan")), torch.zeros(10, 2))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        importance_weights(torch.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="non-negative"):
        sample_validation(torch.tensor([1.0, -1.0]), 3)
    with pytest.raises(ValueError, match="even"):
        next(balanced_batches(5, 5, 3))


def test_real_temporal_shift_is_detected(shared_data):
    # People's Daily 1998-01 is in publication order: first 75 % vs last 25 % is a real shift
    # (experiments/objectives_adversarial_validation.py); a discriminator must see it.
    import zlib

    lines = shared_data("peoples_daily_199801", "seg_gold.utf8").read_text("utf-8").splitlines()
    lines = [ln.replace(" ", "") for ln in lines if ln.strip()]
    rows = [i for i, t in enumerate(lines) for _ in t]
    cols = [zlib.crc32(ch.encode()) % 1024 for t in lines for ch in t]
    x = torch.zeros(len(lines), 1024).index_put_(
        (torch.tensor(rows), torch.tensor(cols)), torch.ones(len(rows)), accumulate=True
    )
    x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-6)
    cut = int(0.75 * len(lines))
    g = torch.Generator().manual_seed(0)
    dp, dq = discriminator_probabilities(x[:cut], x[cut:], folds=2, epochs=1, lr=0.02, generator=g)
    assert roc_auc(dp, dq) > 0.6
    # a random split of the pool against itself shows no shift
    perm = torch.randperm(cut, generator=g)
    d0, d1 = discriminator_probabilities(
        x[perm[: cut // 2]], x[perm[cut // 2 :]], folds=2, epochs=1, lr=0.02, generator=g
    )
    assert abs(roc_auc(d0, d1) - 0.5) < 0.05
