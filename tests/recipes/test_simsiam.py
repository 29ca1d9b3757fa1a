"""SimSiam/BYOL recipe: the ODE toy's invariant and limits, the collapse metric, the CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kexue.recipes.simsiam.ode import conserved, simulate, vector_field


def test_stop_gradient_flow_conserves_phi2_minus_theta2():
    tr = simulate("stop_gradient", t_end=50.0, dt=1e-2, every=10)
    drift = np.abs(conserved(tr.phi, tr.theta) - (0.36 - 0.01))
    assert drift.max() < 1e-6
    assert tr.phi[-1] == pytest.approx(1.0, abs=1e-6)
    assert tr.theta[-1] == pytest.approx(math.sqrt(0.65), abs=1e-6)


def test_full_gradient_collapses_the_encoder():
    tr = simulate("full_gradient", t_end=50.0, dt=1e-2)
    assert tr.theta[-1] < 1e-4  # the article: 5e-5 at t = 50
    assert tr.phi[-1] < 0.62  # the predictor never reaches 1
    assert abs(conserved(tr.phi[-1], tr.theta[-1]) - 0.35) > 1e-2  # no invariant here
    only = simulate("target_only", t_end=50.0, dt=1e-2)
    assert only.theta[-1] < 1e-8


def test_vector_field_is_the_gradient_of_the_toy_loss():
    phi = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    theta = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    loss = 0.5 * (phi * theta - theta) ** 2
    gphi, gtheta = torch.autograd.grad(loss, (phi, theta))
    dphi, dtheta = vector_field(0.7, 0.3, "full_gradient")
    assert dphi == pytest.approx(-gphi.item()) and dtheta == pytest.approx(-gtheta.item())
    # stop-gradient: the target theta is a constant
    sg = 0.5 * (phi * theta - theta.detach()) ** 2
    gtheta_sg = torch.autograd.grad(sg, theta)[0]
    assert vector_field(0.7, 0.3, "stop_gradient")[1] == pytest.approx(-gtheta_sg.item())
    with pytest.raises(ValueError, match="mode"):
        vector_field(0.7, 0.3, "adam")


def test_embedding_std_reads_collapse():
    from kexue.recipes.simsiam.train import Siamese, augment, embedding_std

    torch.manual_seed(0)
    model = Siamese("simsiam")
    x = torch.rand(64, 64)
    assert 0.02 < embedding_std(model, x) < 0.2
    with torch.no_grad():  # the same output for every image = full collapse
        model.projector[0].weight.zero_()
        model.projector[0].weight[:, 0] = 1.0
        model.backbone[0][0].weight.zero_()
    assert embedding_std(model, x) < 1e-6
    v = augment(x, torch.Generator().manual_seed(1))
    assert v.shape == x.shape and v.min() >= 0 and v.max() <= 1 and not torch.equal(v, x)


def test_cli_bad_input(tmp_path, capsys):
    from kexue.cli.simsiam import main

    for argv, message in ((["--epochs", "0"], "must be >= 1"),
                          (["--variants", "simsiam,nope"], "variants must be")):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2 and message in capsys.readouterr().err
    assert main(["--img-dir", str(tmp_path / "missing")]) == 2
    assert "figure folder not found" in capsys.readouterr().err
    assert main(["--record", str(tmp_path / "no" / "r.jsonl")]) != 0
    assert capsys.readouterr().err.startswith("kexue simsiam: error:")
    assert list(tmp_path.iterdir()) == []
