"""Attention masks: key padding, causal (``lm``) and UniLM (``unilm``), as additive biases."""

from __future__ import annotations

import torch

__all__ = [
    "padding_mask", "to_bias", "key_padding", "causal", "decoder_bias", "unilm", "unilm_index"
]


def padding_mask(token_ids: torch.Tensor, pad_id: int) -> torch.Tensor | None:
    """The automatic mask of encoder inputs (bert4keras habit): 1 where ``token_ids != pad_id``;
    ``None`` when nothing is padding (the unmasked fast path). Never for decoder inputs,
    whose start token may be the pad id (T5)."""
    mask = token_ids != pad_id
    return None if bool(mask.all()) else mask.long()


def to_bias(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Boolean "may attend" -> additive bias: 0 where allowed, the dtype's minimum elsewhere."""
    zero = torch.zeros((), dtype=dtype, device=allowed.device)
    neg = torch.full((), torch.finfo(dtype).min, dtype=dtype, device=allowed.device)
    return torch.where(allowed, zero, neg)


def key_padding(attention_mask: torch.Tensor, k_len: int) -> torch.Tensor:
    """``(batch, k_len)`` 1/0 mask -> boolean ``(batch, 1, 1, k_len)``; validates the shape."""
    if attention_mask.dim() != 2 or attention_mask.shape[1] != k_len:
        raise ValueError(
            f"attention_mask must be (batch, past_len + new_len) = (batch, {k_len}); "
            f"got {tuple(attention_mask.shape)}"
        )
    return attention_mask.bool()[:, None, None, :]


def causal(q_len: int, k_len: int, device: torch.device) -> torch.Tensor:
    """Boolean ``(1, 1, q_len, k_len)``: the ``q_len`` new queries sit at the end of the keys."""
    q = torch.arange(k_len - q_len, k_len, device=device)
    k = torch.arange(k_len, device=device)
    return (k[None, :] <= q[:, None])[None, None]


def decoder_bias(
    attention_mask: torch.Tensor | None, n: int, k_len: int, dtype: torch.dtype, device
) -> torch.Tensor | None:
    """Causal mask over cached + new keys, combined with key padding, as an additive bias.

    Returns ``None`` when nothing is masked: one new token with no padding mask (or an
    all-ones one) may see every key, and attention then takes its unmasked, faster path.
    """
    if n == 1 and (attention_mask is None or bool(attention_mask.all())):
        return None
    allowed = causal(n, k_len, device)
    if attention_mask is not None:
        allowed = allowed & key_padding(attention_mask, k_len)
    return to_bias(allowed, dtype)


def unilm_index(segment_ids: torch.Tensor, start: torch.Tensor | None = None) -> torch.Tensor:
    """UniLM running index ``idx = cumsum(segment_ids)`` (continued from ``start`` (b, 1))."""
    idx = segment_ids.long().cumsum(dim=1)
    return idx if start is None else idx + start


def unilm(q_index: torch.Tensor, k_index: torch.Tensor) -> torch.Tensor:
    """UniLM seq2seq mask (Dong et al., arXiv 1905.03197; bert4keras ``UniLM_Mask``,
    https://kexue.fm/archives/6933): query i may attend to key j iff ``idx[j] <= idx[i]``.

    Source tokens (segment 0) see the whole source; each target token (segment 1) sees the
    source, the earlier targets and itself. Returns boolean ``(batch, 1, q_len, k_len)``.
    """
    return (k_index[:, None, :] <= q_index[:, :, None])[:, None]
