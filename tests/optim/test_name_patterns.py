"""A parameter-name pattern given to an optimizer wrapper that matches no parameter raises,
listing the names (``"LayerNorm"`` on a kexue model, whose norms are ``...norm``)."""

from __future__ import annotations

import pytest
import torch

from kexue.models import build_transformer_model
from kexue.optim import (
    AdaX,
    extend_with_layer_adaptation,
    extend_with_parameter_wise_lr,
    extend_with_weight_decay,
)

BERT = {"vocab_size": 20, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 16, "max_position_embeddings": 16}


@pytest.fixture
def model():
    return build_transformer_model(BERT)


def test_unmatched_weight_decay_pattern_lists_names(model):
    AdamW = extend_with_weight_decay(torch.optim.Adam)
    with pytest.raises(ValueError, match=r"exclude_from_weight_decay \['LayerNorm'\]") as err:
        AdamW(model.named_parameters(), lr=1e-3, exclude_from_weight_decay=["bias", "LayerNorm"])
    assert "embeddings.norm.weight" in str(err.value)
    opt = AdamW(model.named_parameters(), lr=1e-3, exclude_from_weight_decay=["bias", "norm"])
    assert opt.param_groups[0]["exclude_from_weight_decay"] == ("bias", "norm")


def test_unmatched_patterns_of_the_other_wrappers(model):
    Lamb = extend_with_layer_adaptation(extend_with_weight_decay(AdaX))
    with pytest.raises(ValueError, match="exclude_from_layer_adaptation"):
        Lamb(model.named_parameters(), lr=1e-3, exclude_from_layer_adaptation=["LayerNorm"])
    Paramwise = extend_with_parameter_wise_lr(torch.optim.SGD)
    with pytest.raises(ValueError, match="paramwise_lr_schedule"):
        Paramwise(model.named_parameters(), lr=1e-3, paramwise_lr_schedule={"pooler": 2.0})
    Paramwise(model.named_parameters(), lr=1e-3, paramwise_lr_schedule={"layers.0": 2.0})


def test_a_pattern_may_match_in_another_group(model):
    AdamW = extend_with_weight_decay(torch.optim.Adam)
    named = list(model.named_parameters())
    groups = [{"params": [p for _, p in named[:3]], "param_names": [n for n, _ in named[:3]]},
              {"params": [p for _, p in named[3:]], "param_names": [n for n, _ in named[3:]]}]
    AdamW(groups, lr=1e-3, exclude_from_weight_decay=["embeddings.token", "layers.0"])
