"""The geometric VAE recipe: aggregated-posterior moments, coverage, the split, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kexue.recipes.vae.geometry import code_stats, coverage, nearest_distance
from kexue.recipes.vae.model import CodeAutoEncoder


def test_code_stats_is_the_law_of_total_covariance():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(20_000, 2)) * [0.6, 0.8]
    sigma = np.full((20_000, 2), [0.8, 0.6])
    st = code_stats(mu, np.log(sigma**2))
    # Cov(mu) + E sigma^2 = diag(0.36 + 0.64, 0.64 + 0.36) = I: the prior is matched
    np.testing.assert_allclose(st.cov, np.eye(2), atol=0.03)
    assert st.cov_error < 0.03 and np.abs(st.mean).max() < 0.02
    np.testing.assert_allclose(st.mean_sigma, [0.8, 0.6])
    # reference: sample the aggregated posterior and take its covariance
    z = mu + sigma * rng.normal(size=mu.shape)
    np.testing.assert_allclose(st.cov, np.cov(z, rowvar=False), atol=0.03)
    assert code_stats(mu).mean_sigma.tolist() == [0.0, 0.0]  # point codes
    with pytest.raises(ValueError, match="mu must be"):
        code_stats(np.zeros(3))


def test_coverage_and_nearest_distance():
    rng = np.random.default_rng(1)
    dense = rng.normal(size=(5000, 2))
    far = dense + 10.0
    assert coverage(dense, 0.25) > 0.9
    assert coverage(far, 0.25) == 0.0
    ref = rng.random((50, 4))
    assert nearest_distance(ref, ref) == pytest.approx(0.0, abs=1e-6)
    assert nearest_distance(ref + 0.5, ref) > 0.1


def test_model_variants_and_losses():
    torch.manual_seed(0)
    x = torch.rand(8, 64)
    ae, vae = CodeAutoEncoder("ae"), CodeAutoEncoder("vae")
    assert ae.encode(x)[1] is None and vae.encode(x)[1].shape == (8, 2)
    assert vae.decode(torch.zeros(3, 2)).shape == (3, 64)
    for m in (ae, vae, CodeAutoEncoder("naive")):
        loss = m.loss(x)
        loss.backward()
        assert loss.dim() == 0 and torch.isfinite(loss)
    with pytest.raises(ValueError, match="variant"):
        CodeAutoEncoder("beta")


def test_digits_split_is_fixed_and_stratified():
    pytest.importorskip("sklearn")
    from kexue.recipes.digits import load_digits_split

    d = load_digits_split()
    assert (len(d.x_train), len(d.x_test)) == (1442, 355)
    counts = np.bincount(d.y_test)
    assert counts.min() >= 34 and counts.max() <= 37
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    again = load_digits_split()
    np.testing.assert_array_equal(d.x_test, again.x_test)


def test_cli_bad_input(tmp_path, capsys):
    from kexue.cli.vae import main

    for argv, message in ((["--pixel-std", "0.2,-1"], "must be a finite number > 0"),
                          (["--epochs", "x"], "not an integer")):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2 and message in capsys.readouterr().err
    assert main(["--dim", "3", "--img-dir", str(tmp_path)]) == 1
    assert "use --dim 2" in capsys.readouterr().err
    assert main(["--img-dir", str(tmp_path / "nope")]) == 2
    assert "figure folder not found" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
