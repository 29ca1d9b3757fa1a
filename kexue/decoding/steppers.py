"""Steppers: drive one model family one token at a time under the model contract.

A stepper turns a batch of prompts into next-token logits and then feeds one new token per row
per step. It owns the per-row bookkeeping (attention mask, positions, KV cache or, without a
cache, the full sequence that is re-run every step) and can select/reorder rows (beam search).

The contract (docs/design.md, "Model contract"):

- causal LM (``application="lm"``) and UniLM (``application="unilm"``):
  ``model(token_ids, segment_ids, *, attention_mask, position_ids, cache) -> logits``;
- encoder-decoder (T5): ``model.encode(ids, attention_mask)`` and
  ``model.decode(decoder_ids, encoder_hidden, *, encoder_mask, cache) -> logits``;
- ``model.new_cache()`` returns an empty cache with ``.length`` and ``.reorder(index)``.

Prompts arrive left-padded: ``ids (batch, L)`` and ``mask (batch, L)`` with 1 for real tokens.
Positions are ``cumsum(mask) - 1`` clamped at 0, so every row's first real token has position 0.
"""

from __future__ import annotations

import torch

__all__ = ["Stepper", "CausalStepper", "UniLMStepper", "EncoderDecoderStepper"]


def _last_logits(out) -> torch.Tensor:
    logits = out[0] if isinstance(out, tuple | list) else out
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3:
        raise TypeError(
            "the model must return next-token logits of shape (batch, new_len, vocab); "
            f"got {type(logits).__name__}"
            + (f", shape {tuple(logits.shape)}" if isinstance(logits, torch.Tensor) else "")
        )
    last = logits[:, -1]
    return last.float()


class Stepper:
    """Base class: ``start(ids, mask) -> logits``, ``step(tokens) -> logits``, ``reorder(idx)``."""

    def __init__(self, model, use_cache: bool = True) -> None:
        self.model = model
        self.use_cache = use_cache

    def start(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def step(self, tokens: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def reorder(self, index: torch.Tensor) -> None:  # pragma: no cover
        raise NotImplementedError


class CausalStepper(Stepper):
    """Decoder-only LM: the prompt and the generated tokens form one causal sequence."""

    segment: int | None = None  # UniLM sets segment ids; plain LMs pass none

    def _segments(self, like: torch.Tensor, value: int) -> torch.Tensor | None:
        if self.segment is None:
            return None
        return torch.full_like(like, value)

    def start(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self.mask = mask.long()
        positions = (self.mask.cumsum(-1) - 1).clamp(min=0)
        self.next_pos = positions[:, -1] + 1
        if self.use_cache:
            self.cache = self.model.new_cache()
            self.ids = None
        else:
            self.cache = None
            self.ids = ids
            self.seg = self._segments(ids, 0)
            self.pos = positions
        out = self.model(
            ids,
            self._segments(ids, 0),
            attention_mask=self.mask,
            position_ids=positions,
            cache=self.cache,
        )
        return _last_logits(out)

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        new = tokens.view(-1, 1)
        new_pos = self.next_pos.view(-1, 1)
        self.mask = torch.cat([self.mask, torch.ones_like(new)], dim=1)
        self.next_pos = self.next_pos + 1
        if self.use_cache:
            out = self.model(
                new,
                self._segments(new, 1),
                attention_mask=self.mask,
                position_ids=new_pos,
                cache=self.cache,
            )
        else:
            self.ids = torch.cat([self.ids, new], dim=1)
            self.pos = torch.cat([self.pos, new_pos], dim=1)
            if self.seg is not None:
                self.seg = torch.cat([self.seg, torch.ones_like(new)], dim=1)
            out = self.model(
                self.ids, self.seg, attention_mask=self.mask, position_ids=self.pos, cache=None
            )
        return _last_logits(out)

    def reorder(self, index: torch.Tensor) -> None:
        self.mask = self.mask.index_select(0, index)
        self.next_pos = self.next_pos.index_select(0, index)
        if self.use_cache:
            self.cache.reorder(index)
        else:
            self.ids = self.ids.index_select(0, index)
            self.pos = self.pos.index_select(0, index)
            if self.seg is not None:
                self.seg = self.seg.index_select(0, index)


class UniLMStepper(CausalStepper):
    """UniLM seq2seq on a bidirectional encoder (https://kexue.fm/archives/6933).

    The prompt is the source (``segment_ids = 0``, fully visible to itself); generated tokens get
    ``segment_ids = 1`` and see the whole source plus the earlier targets. The logits of the last
    source token (bert4keras: the source's final [SEP]) predict the first target token.
    """

    segment = 0


class EncoderDecoderStepper(Stepper):
    """Encoder-decoder (T5): encode the source once, then decode from ``start_id``."""

    def __init__(self, model, use_cache: bool = True, *, start_id: int) -> None:
        super().__init__(model, use_cache)
        self.start_id = start_id

    def start(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self.enc_mask = mask.long()
        self.enc = self.model.encode(ids, attention_mask=self.enc_mask)
        dec = torch.full((ids.shape[0], 1), self.start_id, dtype=torch.long, device=ids.device)
        self.cache = self.model.new_cache() if self.use_cache else None
        self.dec = dec
        out = self.model.decode(dec, self.enc, encoder_mask=self.enc_mask, cache=self.cache)
        return _last_logits(out)

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        new = tokens.view(-1, 1)
        self.dec = torch.cat([self.dec, new], dim=1)
        inp = new if self.use_cache else self.dec
        out = self.model.decode(inp, self.enc, encoder_mask=self.enc_mask, cache=self.cache)
        return _last_logits(out)

    def reorder(self, index: torch.Tensor) -> None:
        self.enc = self.enc.index_select(0, index)
        self.enc_mask = self.enc_mask.index_select(0, index)
        self.dec = self.dec.index_select(0, index)
        if self.use_cache:
            self.cache.reorder(index)
