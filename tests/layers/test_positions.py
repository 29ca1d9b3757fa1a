"""Position encodings against their formulas and the reference implementations."""

from __future__ import annotations

import math

import pytest
import torch
import transformers

from kexue.layers.positions import (
    hierarchical_positions,
    nezha_relative_table,
    roformer_sinusoid_table,
    t5_relative_buckets,
)


def test_t5_buckets_match_transformers():
    attn = transformers.models.t5.modeling_t5.T5Attention
    rel = torch.arange(-300, 300)[None, :]
    for bidirectional in (True, False):
        ours = t5_relative_buckets(
            rel, bidirectional=bidirectional, num_buckets=32, max_distance=128
        )
        ref = attn._relative_position_bucket(
            rel, bidirectional=bidirectional, num_buckets=32, max_distance=128
        )
        assert torch.equal(ours, ref)


def test_nezha_table_formula():
    t = nezha_relative_table(4, 6)
    r = 3
    for i in range(3):
        w = 10000 ** (-2 * i / 6)
        assert abs(t[r, 2 * i].item() - math.sin(r * w)) < 1e-6
        assert abs(t[r, 2 * i + 1].item() - math.cos(r * w)) < 1e-6
    assert t.shape == (9, 6)


def test_roformer_table_matches_transformers():
    emb = transformers.models.roformer.modeling_roformer.RoFormerSinusoidalPositionalEmbedding(
        50, 8
    )
    torch.testing.assert_close(roformer_sinusoid_table(50, 8), emb.create_weight())


def test_hierarchical_identity_within_range_and_errors():
    table = torch.randn(10, 4, dtype=torch.float64)
    pos = torch.arange(10)
    torch.testing.assert_close(hierarchical_positions(table, pos), table)
    with pytest.raises(ValueError, match="alpha"):
        hierarchical_positions(table, pos, alpha=1.0)
    with pytest.raises(ValueError, match="reach 99"):
        hierarchical_positions(table, torch.tensor([100]))
