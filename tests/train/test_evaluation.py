"""Evaluator keeps exactly the best epoch's weights; EMA swap/restore is bit-exact inside fit;
EarlyStopping; ModelCheckpoint; the CSV log and the learning-curve PNG."""

from __future__ import annotations

import csv
import io

import pytest
import torch

from kexue.train import (
    Callback,
    EarlyStopping,
    Evaluator,
    LearningCurves,
    ModelCheckpoint,
    fit,
    load_weights,
)
from tests.train._tiny import AdamEMA, accuracy, loss_fn, tiny_data, tiny_model


class Snapshots(Callback):
    """Records the weights the evaluation saw at each epoch end (EMA swapped in)."""

    def __init__(self):
        self.weights = []

    def on_epoch_end(self, trainer, epoch, logs):
        with trainer.eval_weights():
            self.weights.append({k: v.clone() for k, v in trainer.model.state_dict().items()})


def test_evaluator_keeps_exactly_the_best_epochs_weights(tmp_path):
    torch.manual_seed(0)
    data = tiny_data(64)
    model = tiny_model()
    opt = AdamEMA(model.parameters(), lr=0.05, ema_momentum=0.5)
    # a metric whose best epoch is not the last: the accuracy of a fixed, noisy score
    scores = [0.3, 0.8, 0.5, 0.9, 0.2, 0.85]
    calls = iter(scores)
    snaps = Snapshots()
    ev = Evaluator(lambda m: {"acc": next(calls), "real": accuracy(m, data)}, monitor="acc",
                   save_best=tmp_path / "best.safetensors", restore_best=True)
    tr = fit(model, loss_fn, data, optimizer=opt, batch_size=16, epochs=6,
             callbacks=[snaps, ev], progress=False)
    assert ev.best == 0.9 and ev.best_epoch == 3 and ev.best_step == 16
    for k, v in snaps.weights[3].items():
        assert torch.equal(ev.best_weights[k], v), k
        assert torch.equal(load_weights(tmp_path / "best.safetensors")[k], v), k
        assert torch.equal(model.state_dict()[k], v), k  # restore_best at the end
    assert not torch.equal(snaps.weights[5]["0.weight"], snaps.weights[3]["0.weight"])
    rows = [r for r in tr.history if "acc" in r]
    assert [r["acc"] for r in rows] == scores


def test_ema_swap_in_fit_is_bit_exact():
    def train(evaluate: bool):
        torch.manual_seed(0)
        model = tiny_model()
        opt = AdamEMA(model.parameters(), lr=0.05, ema_momentum=0.9)
        seen = []

        def ev(m):
            seen.append(m[0].weight.clone())
            return accuracy(m, tiny_data())

        cbs = [Evaluator(ev, every_steps=3)] if evaluate else []
        fit(model, loss_fn, tiny_data(), optimizer=opt, batch_size=8, steps=12, callbacks=cbs,
            progress=False)
        return model, opt, seen

    plain, _, _ = train(False)
    evaluated, opt, seen = train(True)
    for a, b in zip(plain.parameters(), evaluated.parameters()):
        assert torch.equal(a, b)  # evaluating with EMA weights left training untouched
    with opt.ema_weights():
        ema = evaluated[0].weight.clone()
    assert torch.equal(seen[-1], ema) and not torch.equal(ema, evaluated[0].weight)


def test_early_stopping_and_model_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = tiny_model()
    values = iter([0.5, 0.6, 0.55, 0.58, 0.59, 0.7])
    ev = Evaluator(lambda m: next(values), monitor="acc")
    stop = EarlyStopping("acc", patience=2)
    ckpt = ModelCheckpoint(tmp_path / "w", monitor="acc", save_last=True, keep=2)
    tr = fit(model, loss_fn, tiny_data(32), optimizer=torch.optim.Adam(model.parameters()),
             batch_size=8, epochs=10, callbacks=[ev, stop, ckpt], progress=False)
    assert tr.epoch == 5  # epochs 0-4 ran: no improvement at 2, 3, 4 -> stop
    assert ckpt.best == 0.6
    names = sorted(p.name for p in (tmp_path / "w").iterdir())
    assert names == ["best.safetensors", "epoch-0003.safetensors", "epoch-0004.safetensors"]
    w = load_weights(tmp_path / "w" / "epoch-0004.safetensors")
    assert all(torch.equal(w[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="monitor"):
        ModelCheckpoint(tmp_path, save_best=True)


def test_csv_log_and_learning_curves(tmp_path):
    pytest.importorskip("matplotlib")
    torch.manual_seed(0)
    model = tiny_model()
    tr = fit(model, loss_fn, tiny_data(32), optimizer=torch.optim.Adam(model.parameters()),
             batch_size=8, epochs=2, checkpoint_dir=tmp_path,
             callbacks=[Evaluator(lambda m: accuracy(m, tiny_data(32)), monitor="acc"),
                        LearningCurves(tmp_path / "curves.png")], progress=False)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "log.csv").read_text())))
    assert list(rows[0]) == ["step", "epoch", "loss", "lr", "acc"]
    losses = [float(r["loss"]) for r in rows if r["loss"]]
    assert losses == [r["loss"] for r in tr.history if "loss" in r]  # exact round trip
    assert [r["step"] for r in rows if r["acc"]] == ["4", "8"]
    png = (tmp_path / "curves.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
