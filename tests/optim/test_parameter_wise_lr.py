"""Parameter-wise learning-rate multipliers: closed form on the two-parameter problem."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from kexue.optim import extend_with_parameter_wise_lr

SGDP = extend_with_parameter_wise_lr(torch.optim.SGD)


def test_matching_parameters_get_multiplied_updates(two_params):
    m = two_params(1.0, -2.0)
    opt = SGDP(m.named_parameters(), lr=0.1, paramwise_lr_schedule={"weight": 3.0, "eig": 0.5})
    m.set_grads(1.0, 1.0)
    opt.step()
    # weight matches both keys: 3 * 0.5; bias matches none
    assert_close(m.values(), torch.tensor([1.0 - 0.15, -2.1], dtype=torch.float64))


def test_names_required_and_bad_values_raise(two_params):
    m = two_params()
    with pytest.raises(ValueError, match="named_parameters"):
        SGDP(m.parameters(), lr=0.1, paramwise_lr_schedule={"weight": 2.0})
    with pytest.raises(ValueError, match="finite"):
        SGDP(m.named_parameters(), lr=0.1, paramwise_lr_schedule={"weight": -2.0})
