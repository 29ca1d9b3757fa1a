"""Warm-up, piecewise-linear and epoch LR schedules and a scheduled loss coefficient: the
learning rate each optimizer step used equals the formula at that step."""

from __future__ import annotations

import pytest
import torch

from kexue.optim import piecewise_linear
from kexue.train import LRSchedule, PiecewiseLinearLR, ScheduledValue, Warmup, fit
from tests.train._tiny import loss_fn, tiny_data, tiny_model


def _lrs(callback, steps=24, batch_size=8, **kw) -> list[float]:
    torch.manual_seed(0)
    model = tiny_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    tr = fit(model, loss_fn, tiny_data(32), optimizer=opt, batch_size=batch_size, steps=steps,
             callbacks=[callback], progress=False, **kw)
    return [r["lr"] for r in tr.history if "lr" in r]


def test_warmup_curve():
    lrs = _lrs(Warmup(10))
    want = [0.2 * min(1.0, (t + 1) / 10) for t in range(24)]  # 5765: lr * (step + 1) / W
    assert lrs == pytest.approx(want, rel=1e-15)
    assert lrs[0] == pytest.approx(0.02) and lrs[9] == lrs[23] == 0.2


def test_piecewise_linear_curve():
    schedule = {5: 1.0, 15: 0.1, 20: 0.5}
    lrs = _lrs(PiecewiseLinearLR(schedule))
    assert lrs == pytest.approx([0.2 * piecewise_linear(t, schedule) for t in range(24)],
                                rel=1e-15)
    # closed-form points: 0 at the start, the peak, the linear mid-points, the hold
    assert lrs[0] == 0.0
    assert lrs[5] == pytest.approx(0.2)
    assert lrs[10] == pytest.approx(0.2 * 0.55)
    assert lrs[3] == pytest.approx(0.2 * 3 / 5)
    assert lrs[22] == pytest.approx(0.1)


def test_epoch_schedule_of_5765():
    fn = lambda e: 1e-2 if e < 2 else 1e-3 if e < 4 else 1e-4  # noqa: E731
    lrs = _lrs(LRSchedule(fn), steps=24)  # 4 steps an epoch
    assert lrs == [fn(t // 4) for t in range(24)]


def test_scheduled_loss_coefficient_changes_at_its_epoch():
    coef = ScheduledValue({0: 0.1, 3: 0.01})
    seen = []

    def loss(m, b):
        seen.append(float(coef))
        return loss_fn(m, b)

    torch.manual_seed(0)
    model = tiny_model()
    fit(model, loss, tiny_data(32), optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        batch_size=8, epochs=5, callbacks=[coef], progress=False)
    assert seen == [0.1] * 12 + [0.01] * 8
    step_coef = ScheduledValue({0: 1.0, 10: 0.0}, unit="step", interpolate=True)
    assert [step_coef.at(t) for t in (0, 5, 10, 20)] == [1.0, 0.5, 0.0, 0.0]
    with pytest.raises(ValueError):
        ScheduledValue({0: 1.0}, unit="batch")
