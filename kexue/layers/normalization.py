"""Layer normalisation: LayerNorm with an optional condition (Conditional LayerNorm) and RMSNorm."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kexue.layers.activations import get_activation

__all__ = ["LayerNorm", "RMSNorm"]


class LayerNorm(nn.Module):
    """LayerNorm whose scale and offset may depend on a condition vector.

    Plain: ``y = (x - mean) / sqrt(var + eps) * gamma + beta``.

    Conditional LayerNorm (https://kexue.fm/archives/7124, used for conditional text
    generation and multi-task heads, spec nlp.md §2): with a condition ``c``,

        gamma(c) = gamma + W_g c,    beta(c) = beta + W_b c,

    where ``W_g`` and ``W_b`` are bias-free dense layers initialised to **zero**, so at
    initialisation the layer is exactly the pretrained plain LayerNorm (the property the
    article relies on to keep the pretrained weights useful). Exactly means bit for bit: the
    output is computed as ``LN(x; gamma, beta) + (W_g c) * LN(x) + W_b c`` with the same fused
    ``F.layer_norm`` call as the plain layer, and adding the zero terms changes nothing
    (``y * gamma + beta`` in two steps would differ from the fused call by a rounding step).
    With ``cond_hidden_size`` the condition first goes through a bias-free
    ``Dense(cond_hidden_size, cond_act)`` (not zero-initialised), as in bert4keras's
    ``layer_norm_cond_hidden_size``.

    Args:
        hidden_size: size of the normalised last dimension.
        eps: variance epsilon.
        cond_size: size of the condition vector; ``None`` for a plain LayerNorm.
        cond_hidden_size: optional projection of the condition before ``W_g``/``W_b``.
        cond_act: activation of that projection.
    """

    def __init__(
        self,
        hidden_size: int,
        eps: float = 1e-12,
        *,
        cond_size: int | None = None,
        cond_hidden_size: int | None = None,
        cond_act: str = "linear",
    ) -> None:
        super().__init__()
        self.hidden_size = int(hidden_size)
        self.eps = float(eps)
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.bias = nn.Parameter(torch.zeros(hidden_size))
        self.cond_size = cond_size
        if cond_size is not None:
            if cond_size <= 0:
                raise ValueError(f"cond_size must be positive, got {cond_size}")
            in_size = cond_size
            self.cond_proj: nn.Linear | None = None
            self._cond_act = get_activation(cond_act)
            if cond_hidden_size is not None:
                # bias-free, as bert4keras's ``hidden_dense`` (use_bias=False)
                self.cond_proj = nn.Linear(cond_size, cond_hidden_size, bias=False)
                in_size = cond_hidden_size
            self.cond_scale = nn.Linear(in_size, hidden_size, bias=False)
            self.cond_offset = nn.Linear(in_size, hidden_size, bias=False)
            nn.init.zeros_(self.cond_scale.weight)
            nn.init.zeros_(self.cond_offset.weight)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if cond is None:
            if self.cond_size is not None:
                raise ValueError("this LayerNorm is conditional: pass the condition vector")
            return F.layer_norm(x, (self.hidden_size,), self.weight, self.bias, self.eps)
        if self.cond_size is None:
            raise ValueError("a condition was given to a LayerNorm built without cond_size")
        if cond.shape[-1] != self.cond_size:
            raise ValueError(f"condition has last dim {cond.shape[-1]}, expected {self.cond_size}")
        if cond.dim() == x.dim() - 1:  # (batch, cond) -> (batch, 1, cond)
            cond = cond.unsqueeze(-2)
        if self.cond_proj is not None:
            cond = self._cond_act(self.cond_proj(cond))
        # (gamma + W_g c) y + (beta + W_b c) = [plain LayerNorm] + (W_g c) y + W_b c: the plain
        # part is the fused call itself, so zero condition weights give it bit for bit
        plain = F.layer_norm(x, (self.hidden_size,), self.weight, self.bias, self.eps)
        y = F.layer_norm(x, (self.hidden_size,), None, None, self.eps)
        return plain + (y * self.cond_scale(cond) + self.cond_offset(cond))


class RMSNorm(nn.Module):
    """T5's LayerNorm: ``y = x / sqrt(mean(x^2) + eps) * gamma`` (no centring, no offset).

    The mean square is taken in float32, as T5 does, then cast back.
    """

    def __init__(self, hidden_size: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = float(eps)
        self.weight = nn.Parameter(torch.ones(hidden_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var = x.float().pow(2).mean(-1, keepdim=True)
        y = x * torch.rsqrt(var + self.eps)
        return self.weight * y.to(self.weight.dtype)
