"""Position encodings: rotary (RoFormer), NEZHA relative, T5 buckets, hierarchical absolute.

Each is a small module or function; attention consumes what they return (rotated q/k,
gathered relative embeddings, or an additive score bias).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = [
    "rotary_tables",
    "apply_rotary",
    "RotaryPosition",
    "roformer_sinusoid_table",
    "nezha_relative_table",
    "NezhaRelativePosition",
    "t5_relative_buckets",
    "T5RelativeBias",
    "hierarchical_positions",
]


# ----------------------------------------------------------------------------- rotary


def rotary_tables(num_positions: int, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Interleaved RoPE tables ``(cos, sin)``, each ``(num_positions, dim)`` in float64.

    Pair ``i`` is dimensions ``(2i, 2i+1)`` with angle ``p * theta_i``, ``theta_i =
    10000^(-2i/dim)``; both members of a pair carry the same cos/sin (Su's RoFormer pairing,
    https://kexue.fm/archives/8265).
    """
    if dim % 2:
        raise ValueError(f"rotary dimension must be even, got {dim}")
    pos = np.arange(num_positions, dtype=np.float64)[:, None]
    theta = np.power(10000.0, -2.0 * np.arange(dim // 2, dtype=np.float64) / dim)
    angle = np.repeat(pos * theta[None, :], 2, axis=1)
    return torch.from_numpy(np.cos(angle)), torch.from_numpy(np.sin(angle))


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate adjacent pairs: ``x * cos + [-x1, x0, -x3, x2, ...] * sin``.

    Computed as ``x * cos + [x1, x0, x3, x2, ...] * ([-1, 1, -1, 1, ...] * sin)``: one pair
    swap (``flip``) and a fused multiply-add; the sign goes on the small ``sin`` table, not on
    ``x``.

    Args:
        x: ``(batch, heads, length, dim)``.
        cos, sin: broadcastable to ``x``, e.g. ``(batch, 1, length, dim)``.
    """
    swapped = x.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)
    sign = torch.ones(2, dtype=sin.dtype, device=sin.device)
    sign[0] = -1.0
    signed_sin = (sin.unflatten(-1, (-1, 2)) * sign).flatten(-2)
    return torch.addcmul(x * cos, swapped, signed_sin)


def roformer_sinusoid_table(num_positions: int, dim: int) -> torch.Tensor:
    """The fixed table HF RoFormer checkpoints store as ``encoder.embed_positions.weight``:
    ``[sin(p theta_0..), cos(p theta_0..)]`` (sin half first); used to verify that buffer."""
    cos, sin = rotary_tables(num_positions, dim)
    return torch.cat([sin[:, 0::2], cos[:, 0::2]], dim=-1).float()


class RotaryPosition(nn.Module):
    """Rotary position embedding (RoPE), https://kexue.fm/archives/8265; Su et al.,
    "RoFormer: Enhanced Transformer with Rotary Position Embedding", arXiv 2104.09864.

    ``f(x, p) = R(p theta) x`` applied to queries and keys, so ``<f(q, m), f(k, n)>`` depends
    only on ``m - n``. Adjacent dimensions pair up (not the "rotate-half" pairing of GPT-NeoX /
    LLaMA — the two differ and RoFormer weights need this one). The tables are precomputed for
    ``max_position`` positions and extended on the fly beyond that.
    """

    def __init__(self, dim: int, max_position: int = 512) -> None:
        super().__init__()
        self.dim = int(dim)
        cos, sin = rotary_tables(max_position, dim)
        self.register_buffer("cos", cos.float(), persistent=False)
        self.register_buffer("sin", sin.float(), persistent=False)

    def forward(self, position_ids: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        """``(cos, sin)`` for ``position_ids`` ``(batch, length)``, shaped ``(b, 1, n, dim)``."""
        need = int(position_ids.max()) + 1 if position_ids.numel() else 0
        if need > self.cos.shape[0]:
            cos, sin = rotary_tables(need, self.dim)
            cos, sin = (
                cos.to(self.cos.device, torch.float32),
                sin.to(self.cos.device, torch.float32),
            )
        else:
            cos, sin = self.cos, self.sin
        return cos[position_ids].unsqueeze(1).to(dtype), sin[position_ids].unsqueeze(1).to(dtype)


# ----------------------------------------------------------------------------- NEZHA


def nezha_relative_table(max_relative_position: int, dim: int) -> torch.Tensor:
    """NEZHA's fixed functional relative table, ``(2K+1, dim)`` float32.

    Row ``r = clip(j - i, -K, K) + K`` holds ``[sin(r w_0), cos(r w_0), sin(r w_1), ...]``
    (interleaved), ``w_t = 10000^(-2t/dim)`` (Wei et al., "NEZHA", arXiv 1909.00204, §3.2).
    Note the sinusoid is of the shifted index ``r``, as in the released code.
    """
    k = int(max_relative_position)
    r = np.arange(2 * k + 1, dtype=np.float64)[:, None]
    w = np.exp(np.arange(0, dim, 2, dtype=np.float64) * -(math.log(10000.0) / dim))
    table = np.zeros((2 * k + 1, dim), dtype=np.float64)
    table[:, 0::2] = np.sin(r * w)
    table[:, 1::2] = np.cos(r * w)
    return torch.from_numpy(table).float()


class NezhaRelativePosition(nn.Module):
    """NEZHA functional relative positions, on keys and values (Shaw et al. 2018 form):

        s_ij = q_i . (k_j + r_ij) / sqrt(d),    o_i = sum_j p_ij (v_j + r_ij),

    with ``r_ij = table[clip(j - i, -K, K) + K]`` shared by all heads.
    """

    def __init__(self, dim: int, max_relative_position: int = 64) -> None:
        super().__init__()
        self.max_relative_position = int(max_relative_position)
        table = nezha_relative_table(max_relative_position, dim)
        self.register_buffer("table", table, persistent=False)

    def forward(self, q_pos: torch.Tensor, k_pos: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Relative embeddings ``(batch, q_len, k_len, dim)`` for positions (b, q), (b, k)."""
        k = self.max_relative_position
        rel = (k_pos[:, None, :] - q_pos[:, :, None]).clamp(-k, k) + k
        return self.table[rel].to(dtype)


# ----------------------------------------------------------------------------- T5


def t5_relative_buckets(
    relative_position: torch.Tensor, *, bidirectional: bool, num_buckets: int, max_distance: int
) -> torch.Tensor:
    """T5's log-bucketed relative positions (``relative_position = key_pos - query_pos``).

    Half the buckets (or all, when unidirectional) cover exact small distances, the rest grow
    logarithmically up to ``max_distance``; bidirectional buckets split by sign.
    Raffel et al., "Exploring the Limits of Transfer Learning...", arXiv 1910.10683, §2.1.
    """
    buckets = torch.zeros_like(relative_position)
    n = num_buckets
    if bidirectional:
        n //= 2
        buckets = buckets + (relative_position > 0).long() * n
        dist = relative_position.abs()
    else:
        dist = -torch.clamp(relative_position, max=0)
    max_exact = n // 2
    is_small = dist < max_exact
    large = (
        max_exact
        + (
            torch.log(dist.float() / max_exact)
            / math.log(max_distance / max_exact)
            * (n - max_exact)
        ).long()
    )
    large = torch.clamp(large, max=n - 1)
    return buckets + torch.where(is_small, dist, large)


class T5RelativeBias(nn.Module):
    """Learned per-head scalar bias per relative-position bucket (T5), ``(1, heads, q, k)``."""

    def __init__(
        self, num_heads: int, *, bidirectional: bool, num_buckets: int = 32, max_distance: int = 128
    ) -> None:
        super().__init__()
        self.bidirectional = bidirectional
        self.num_buckets = num_buckets
        self.max_distance = max_distance
        self.weight = nn.Parameter(torch.zeros(num_buckets, num_heads))

    def forward(self, q_pos: torch.Tensor, k_pos: torch.Tensor) -> torch.Tensor:
        rel = k_pos[None, :] - q_pos[:, None]
        b = t5_relative_buckets(
            rel,
            bidirectional=self.bidirectional,
            num_buckets=self.num_buckets,
            max_distance=self.max_distance,
        )
        return self.weight[b].permute(2, 0, 1).unsqueeze(0)


# ----------------------------------------------------------------------------- hierarchical


def hierarchical_positions(
    table: torch.Tensor, position_ids: torch.Tensor, alpha: float = 0.4
) -> torch.Tensor:
    """Hierarchically decomposed absolute positions (https://kexue.fm/archives/7947).

    With trained embeddings ``p_0..p_{n-1}``, set ``u_i = (p_i - alpha p_0) / (1 - alpha)`` and
    embed position ``i*n + j`` as ``q = alpha u_i + (1 - alpha) u_j``; for positions below ``n``
    this gives back ``p_j`` exactly (in exact arithmetic), and extends BERT to ``n^2`` tokens.

    Args:
        table: trained position embeddings ``(n, dim)``.
        position_ids: integer positions, any shape, each ``< n**2``.
        alpha: the decomposition weight, in ``(0, 1)`` (0.4 in the article and bert4keras).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    n = table.shape[0]
    if position_ids.numel() and int(position_ids.max()) >= n * n:
        raise ValueError(f"hierarchical positions reach {n * n - 1}; got {int(position_ids.max())}")
    u = (table - alpha * table[:1]) / (1.0 - alpha)
    return alpha * u[position_ids // n] + (1.0 - alpha) * u[position_ids % n]
