"""Non-finite gradients never poison parameters or optimizer state (issue 25, item 10).

Every kexue optimizer and every ``extend_with_*`` wrapper (around kexue's and torch's own
optimizers) skips the update of a parameter whose gradient holds a NaN or an infinity, leaves
its state untouched, warns with its name, counts the skip, and raises with
``nonfinite="raise"``; state_dict round-trips keep working.
"""

from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch
from torch import nn

from kexue.optim import (
    AdaFactor,
    AdaX,
    extend_with_exponential_moving_average,
    extend_with_gradient_accumulation,
    extend_with_layer_adaptation,
    extend_with_lazy_optimization,
    extend_with_lookahead,
    extend_with_parameter_wise_lr,
    extend_with_piecewise_linear_lr,
    extend_with_weight_decay,
)

WRAPPERS = {
    "weight_decay": (extend_with_weight_decay, {"weight_decay_rate": 0.1}),
    "layer_adaptation": (extend_with_layer_adaptation, {}),
    "piecewise_linear_lr": (extend_with_piecewise_linear_lr, {"lr_schedule": {10: 1.0}}),
    "gradient_accumulation": (extend_with_gradient_accumulation, {"grad_accum_steps": 1}),
    "lookahead": (extend_with_lookahead, {}),
    "lazy_optimization": (extend_with_lazy_optimization, {}),
    "exponential_moving_average": (extend_with_exponential_moving_average, {}),
    "parameter_wise_lr": (extend_with_parameter_wise_lr, {"paramwise_lr_schedule": {"w": 2.0}}),
}
BASES = {
    "AdaX": (AdaX, {"lr": 1e-2}),
    "AdaFactor": (AdaFactor, {"lr": 1e-2, "min_dim_size_to_factor": 2, "beta1": 0.9}),
    "Adam": (torch.optim.Adam, {"lr": 1e-2}),
    "SGD": (torch.optim.SGD, {"lr": 1e-2, "momentum": 0.9}),
}
#: Wrapper buffers that follow the weights (not the gradient): averaging an unchanged weight.
_AVERAGES = {"ema_weight"}


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Linear(8, 8)


def _cases():
    for bname in BASES:
        if bname in ("AdaX", "AdaFactor"):  # torch's own optimizers are guarded when wrapped
            yield pytest.param(bname, None, id=bname)
        for wname in WRAPPERS:
            yield pytest.param(bname, wname, id=f"{bname}+{wname}")


def _build(bname: str, wname: str | None, model: nn.Module, **extra):
    cls, kw = BASES[bname]
    kw = dict(kw)
    if wname is not None:
        wrap, wkw = WRAPPERS[wname]
        cls = wrap(cls)
        kw.update(wkw)
    kw.update(extra)
    return cls(model.named_parameters(), **kw)


def _set_grads(model: nn.Module, seed: int, bad: float | None = None) -> None:
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=g)
    if bad is not None:
        model.weight.grad[3, 5] = bad


def _snapshot(opt, p) -> dict:
    state = {k: v.clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v)
             for k, v in opt.state[p].items() if k != "nonfinite_skips"}
    ext = getattr(opt, "extension_state", {}).get(p, {})
    state.update({f"ext.{k}": v.clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v)
                  for k, v in ext.items() if k != "nonfinite_skips" and k not in _AVERAGES})
    return state


def _assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], torch.Tensor):
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)
        else:
            assert a[k] == b[k], k


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("bname, wname", list(_cases()))
def test_nonfinite_gradient_skips_the_parameter_and_keeps_its_state(bname, wname, bad):
    model = _model()
    opt = _build(bname, wname, model)
    _set_grads(model, 1)
    opt.step()  # a normal step first: there is state to protect
    w_before, b_before = model.weight.detach().clone(), model.bias.detach().clone()
    state_before = _snapshot(opt, model.weight)
    _set_grads(model, 2, bad=bad)
    with pytest.warns(RuntimeWarning, match=r"'weight'.*not finite"):
        opt.step()
    torch.testing.assert_close(model.weight.detach(), w_before, rtol=0, atol=0)
    _assert_same_state(_snapshot(opt, model.weight), state_before)
    assert not torch.equal(model.bias.detach(), b_before)  # the finite parameter still moves
    assert opt.nonfinite_skips() == {"weight": 1}
    assert model.weight.grad[3, 5].item() != model.weight.grad[3, 5].item() or math.isinf(
        model.weight.grad[3, 5].item())  # the caller's gradient is given back as it was
    for _ in range(2):
        _set_grads(model, 3)
        opt.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    for state in opt.state.values():
        for v in state.values():
            if isinstance(v, torch.Tensor) and v.is_floating_point():
                assert torch.isfinite(v).all()


@pytest.mark.parametrize("bname, wname", list(_cases()))
def test_state_dict_round_trip_after_a_skip(bname, wname):
    model = _model()
    opt = _build(bname, wname, model)
    _set_grads(model, 1)
    opt.step()
    _set_grads(model, 2, bad=math.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        opt.step()
    twin = _model(seed=5)
    twin.load_state_dict(model.state_dict())
    opt2 = _build(bname, wname, twin)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    assert opt2.nonfinite_skips() == {"weight": 1}
    for m, o in ((model, opt), (twin, opt2)):
        _set_grads(m, 4)
        o.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.mark.parametrize("bname, wname", list(_cases()))
def test_nonfinite_raise_updates_nothing(bname, wname):
    model = _model()
    opt = _build(bname, wname, model, nonfinite="raise")
    _set_grads(model, 1)
    opt.step()
    before = [p.detach().clone() for p in model.parameters()]
    _set_grads(model, 2, bad=math.nan)
    with pytest.raises(FloatingPointError, match="'weight'"):
        opt.step()
    for p, b in zip(model.parameters(), before):
        torch.testing.assert_close(p.detach(), b, rtol=0, atol=0)


def test_adafactor_one_nan_no_longer_spreads():
    """The campaign's case: one NaN in an 8x8 factored gradient made 64 of 72 values NaN."""
    model = _model()
    opt = AdaFactor(model.parameters(), lr=1e-2, min_dim_size_to_factor=2)
    _set_grads(model, 1, bad=math.nan)
    with pytest.warns(RuntimeWarning, match="parameter 0 of param group 0"):
        opt.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert opt.nonfinite_skips() == {0: 1}
    assert "exp_avg_sq_row" not in opt.state[model.weight]  # nothing was initialised from it


def test_gradient_accumulation_leaves_a_bad_micro_batch_out():
    model = _model()
    ref = _model()
    opt = extend_with_gradient_accumulation(torch.optim.SGD)(
        model.named_parameters(), lr=0.1, grad_accum_steps=2)
    _set_grads(model, 1, bad=math.nan)
    with pytest.warns(RuntimeWarning, match="'weight'"):
        opt.step()
    _set_grads(model, 2)
    opt.step()
    # the weight's update is the good micro-batch's gradient / k; the bias gets both
    g1, g2 = _model(), _model()
    _set_grads(g1, 1)
    _set_grads(g2, 2)
    with torch.no_grad():
        torch.testing.assert_close(model.weight, ref.weight - 0.1 * g2.weight.grad / 2)
        torch.testing.assert_close(model.bias,
                                   ref.bias - 0.1 * (g1.bias.grad + g2.bias.grad) / 2)


def test_nonfinite_option_is_checked():
    with pytest.raises(ValueError, match="nonfinite"):
        AdaX(_model().parameters(), nonfinite="ignore")
    with pytest.raises(ValueError, match="nonfinite"):
        extend_with_weight_decay(torch.optim.Adam)(_model().parameters(), nonfinite="warn")


def test_large_finite_gradients_whose_sum_overflows_are_not_skipped():
    model = _model()
    opt = extend_with_weight_decay(torch.optim.SGD)(model.named_parameters(), lr=1e-40,
                                                    weight_decay_rate=0.0)
    w = model.weight.detach().clone()
    model.weight.grad = torch.full((8, 8), 3e38)  # finite; its float32 sum is inf
    model.bias.grad = torch.zeros(8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        opt.step()
    assert opt.nonfinite_skips() == {}
    assert not torch.equal(model.weight.detach(), w)
