"""Position encodings against their formulas and the reference implementations."""

from __future__ import annotations

import math

import pytest
import torch
import transformers

from kexue.layers.positions import (
    RotaryPosition,
    hierarchical_positions,
    nezha_relative_table,
    roformer_sinusoid_table,
    rotary_tables,
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


def _rope_reference(positions, dim):
    """cos/sin of ``p * 10000^(-2i/dim)`` for pair i = (2i, 2i+1), from the formula (float64)."""
    cos = torch.empty(len(positions), dim, dtype=torch.float64)
    sin = torch.empty(len(positions), dim, dtype=torch.float64)
    for r, p in enumerate(positions):
        for d in range(dim):
            angle = p * 10000.0 ** (-2 * (d // 2) / dim)
            cos[r, d], sin[r, d] = math.cos(angle), math.sin(angle)
    return cos, sin


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rotary_tables_inside_and_beyond_max_position_match_the_formula(dtype):
    """Both tables, for positions inside the precomputed range, beyond it, and mixed in one
    batch (the table is extended on the fly); shapes ``(batch, 1, length, dim)``."""
    dim, max_position = 8, 16
    rope = RotaryPosition(dim, max_position=max_position)
    for rows in ([[0, 3, 15]], [[16, 17, 40]], [[2, 5, 9], [15, 31, 63]]):
        pos = torch.tensor(rows)
        cos, sin = rope(pos, dtype)
        assert cos.shape == sin.shape == (len(rows), 1, len(rows[0]), dim)
        assert cos.dtype == sin.dtype == dtype
        for b, row in enumerate(rows):
            ref_cos, ref_sin = _rope_reference(row, dim)
            torch.testing.assert_close(cos[b, 0].double(), ref_cos, rtol=0, atol=1e-6)
            torch.testing.assert_close(sin[b, 0].double(), ref_sin, rtol=0, atol=1e-6)
    assert rope.cos.shape[0] == max_position  # the stored buffers are not grown


def test_rotary_table_function_matches_the_formula():
    cos, sin = rotary_tables(70, 6)
    ref_cos, ref_sin = _rope_reference(range(70), 6)
    torch.testing.assert_close(cos, ref_cos, rtol=0, atol=1e-12)
    torch.testing.assert_close(sin, ref_sin, rtol=0, atol=1e-12)
