"""Multi-head attention: pluggable positions, additive bias, residual scores, KV cache."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kexue.layers.dense import Dense, linear
from kexue.layers.positions import apply_rotary

__all__ = ["MultiHeadAttention"]


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention over ``num_heads`` heads.

    ``softmax(Q K^T * scale + bias) V`` with ``scale = head_size**-0.5`` (or 1 for T5). The
    fused ``F.scaled_dot_product_attention`` runs whenever the math allows; the explicit path
    runs only when something needs the scores themselves:

    * ``relative=(r_k, r_v)`` — NEZHA relative positions on keys and values
      (``s_ij += q_i . r_ij``, ``o_i += sum_j p_ij r_ij``);
    * ``prev_scores`` / ``return_scores`` — RealFormer residual attention
      (https://kexue.fm/archives/8027; He et al., arXiv 2012.11747):
      ``A_n = Q_n K_n^T / sqrt(d) + A_{n-1}`` where ``A_{n-1}`` is the previous layer's
      **raw** (unmasked) running sum; the mask is added afresh in every layer and never
      accumulated, so padded keys get zero probability at every depth.

    ``rotary=(cos, sin)`` rotates queries and the new keys (and values with
    ``rotary_value``) before caching, so cached keys are stored already rotated.

    Args:
        hidden_size: input width of queries.
        num_heads: number of heads.
        head_size: per-head width (``hidden_size // num_heads`` by default).
        kv_size: input width of keys/values (cross-attention); ``hidden_size`` by default.
        bias: whether q/k/v/o have biases.
        scale: scale scores by ``head_size**-0.5`` (T5: False).
        dropout: attention-probability dropout (training only).
        rotary_value: also rotate the values (RoFormer ``rotary_value``).
    """

    def __init__(
        self,
        hidden_size: int,
        num_heads: int,
        head_size: int | None = None,
        *,
        kv_size: int | None = None,
        bias: bool = True,
        scale: bool = True,
        dropout: float = 0.0,
        rotary_value: bool = False,
    ) -> None:
        super().__init__()
        if head_size is None:
            if hidden_size % num_heads:
                raise ValueError(f"hidden_size {hidden_size} is not divisible by {num_heads} heads")
            head_size = hidden_size // num_heads
        self.num_heads = int(num_heads)
        self.head_size = int(head_size)
        self.scale = self.head_size**-0.5 if scale else 1.0
        self.dropout = float(dropout)
        self.rotary_value = rotary_value
        inner = self.num_heads * self.head_size
        kv_size = hidden_size if kv_size is None else kv_size
        self.q = Dense(hidden_size, inner, bias=bias)
        self.k = Dense(kv_size, inner, bias=bias)
        self.v = Dense(kv_size, inner, bias=bias)
        self.o = Dense(inner, hidden_size, bias=bias)
        self._fused: tuple[torch.Tensor, torch.Tensor | None] | None = None
        self._fused_key: tuple | None = None

    def _project_qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``q(x), k(x), v(x)``; without autograd, as one matmul on a cached fused weight.

        The fused ``[W_q; W_k; W_v]`` is rebuilt whenever a weight changes (its storage or its
        in-place version counter), so optimiser steps and ``load_state_dict`` are seen.
        """
        if torch.is_grad_enabled():
            return self.q(x), self.k(x), self.v(x)
        params = [self.q.weight, self.k.weight, self.v.weight]
        if self.q.bias is not None:
            params += [self.q.bias, self.k.bias, self.v.bias]
        key = tuple((p.data_ptr(), p._version) for p in params)
        if self._fused_key != key:
            weight = torch.cat(params[:3])
            bias = torch.cat(params[3:]) if len(params) == 6 else None
            self._fused, self._fused_key = (weight, bias), key
        inner = self.num_heads * self.head_size
        return linear(x, *self._fused).split(inner, dim=-1)

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # (b, n, h*d) -> (b, h, n, d)
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_size).transpose(1, 2)

    def forward(
        self,
        x: torch.Tensor,
        bias: torch.Tensor | None = None,
        *,
        memory: torch.Tensor | None = None,
        rotary: tuple[torch.Tensor, torch.Tensor] | None = None,
        relative: tuple[torch.Tensor, torch.Tensor] | None = None,
        prev_scores: torch.Tensor | None = None,
        return_scores: bool = False,
        cache=None,
        layer: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend from ``x`` ``(b, q_len, hidden)`` to itself, or to ``memory`` (cross-attention).

        Args:
            bias: additive score bias broadcastable to ``(b, heads, q_len, k_len)`` (masks as
                large negatives, T5 position bias).
            memory: keys/values source for cross-attention.
            rotary: RoPE ``(cos, sin)`` for the new positions, ``(b, 1, q_len, d)``.
            relative: NEZHA ``(r_k, r_v)``, each ``(b, q_len, k_len, d)``.
            prev_scores: RealFormer running sum of the previous layers' raw scores.
            return_scores: return this layer's raw running-sum scores (RealFormer).
            cache: a :class:`kexue.models.KVCache`; new keys/values are appended at ``layer``
                (self-attention) or computed once and kept (cross-attention).
            layer: this attention's index in the cache.

        Returns:
            ``(output (b, q_len, hidden), raw scores or None)``.
        """
        if memory is None:
            q, k, v = (self._split(t) for t in self._project_qkv(x))
            if rotary is not None:
                q = apply_rotary(q, *rotary)
                k = apply_rotary(k, *rotary)
                if self.rotary_value:
                    v = apply_rotary(v, *rotary)
            if cache is not None:
                k, v = cache.append(layer, k, v)
        else:
            q = self._split(self.q(x))
            kv = cache.get_cross(layer) if cache is not None else None
            if kv is None:
                k = self._split(self.k(memory))
                v = self._split(self.v(memory))
                if cache is not None:
                    cache.set_cross(layer, k, v)
            else:
                k, v = kv
        drop = self.dropout if self.training else 0.0
        explicit = relative is not None or prev_scores is not None or return_scores
        scores = None
        if not explicit:
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=bias, dropout_p=drop, scale=self.scale
            )
        else:
            scores = torch.matmul(q, k.transpose(-1, -2))
            if relative is not None:
                scores = scores + torch.einsum("bhqd,bqkd->bhqk", q, relative[0])
            scores = scores * self.scale
            if prev_scores is not None:
                scores = scores + prev_scores
            logits = scores if bias is None else scores + bias
            # float16/bfloat16 scores are normalised in float32; float32 and float64 stay as
            # they are (a float64 model keeps float64 all the way)
            probs = torch.softmax(logits, dim=-1,
                                  dtype=torch.promote_types(logits.dtype, torch.float32))
            probs = probs.to(q.dtype)
            if drop:
                probs = F.dropout(probs, drop)
            out = torch.matmul(probs, v)
            if relative is not None:
                out = out + torch.einsum("bhqk,bqkd->bhqd", probs, relative[1])
        out = out.transpose(1, 2).reshape(x.shape[0], x.shape[1], -1)
        return self.o(out), (scores if return_scores else None)
