"""The decoding step protocol and its implementations for the kexue model families.

A *step* turns new tokens into next-token logits. The decoder calls it as::

    logits = step(token_ids, positions, cache, state)

- ``token_ids``: ``(rows, new_len)`` int64. The first call (``state.prefill``) receives the
  whole left-padded prompt; every later call one new token per row (``new_len = 1``);
  :func:`kexue.decoding.score_continuations` also feeds several at once.
- ``positions``: ``(rows, new_len)`` int64 position of each new token, counted from the row's
  first real prompt token (``cumsum(mask) - 1``, clamped at 0 on the padding), so a left-padded
  row is positioned exactly as if it were decoded alone.
- ``cache``: whatever ``step.new_cache(state)`` returned (``None`` when the step has no
  ``new_cache``). The decoder calls ``cache.reorder(index)`` whenever rows are expanded or
  follow their beams, so a cache must have that method (``KVCache`` has it).
- ``state``: the batch's :class:`~kexue.decoding.state.DecodeState`: per-row prompt, key mask
  over prompt + generated tokens (``state.attention_mask``, ``(rows, past + new_len)``),
  generated tokens (the new ones included), and the recipe's own per-row state.

It returns float logits ``(rows, new_len, vocab)`` for every new token (the logits at token
``i`` predict token ``i + 1``), or only the last position's ``(rows, vocab)``, which is enough
for decoding (scoring several tokens at once needs all positions). Any callable with that
signature is a step; subclass :class:`Step` for the ``new_cache`` hook.

The three built-in steps follow the model contract (docs/design.md, "Model contract"):

- :class:`CausalLMStep` (``application="lm"``) and :class:`UniLMStep` (``"unilm"``):
  ``model(token_ids, segment_ids, *, attention_mask, position_ids, cache)``, whose
  :class:`~kexue.models.outputs.ModelOutput` ``.logits`` are used (a custom callable may
  return the logits tensor itself);
- :class:`EncoderDecoderStep` (T5): ``model.encode(ids, attention_mask)`` and
  ``model.decode(decoder_ids, encoder_hidden, *, encoder_mask, cache) -> logits``;
- ``model.new_cache()`` returns an empty KV cache with ``.length`` and ``.reorder(index)``.

With ``use_cache=False`` they re-run the full sequence every call (the reference; same tokens
and scores) and keep it in a :class:`ReplayCache`.
"""

from __future__ import annotations

from typing import Any

import torch

from kexue.decoding.state import DecodeState
from kexue.models.outputs import ModelOutput, logits_of

__all__ = [
    "Step",
    "CausalLMStep",
    "UniLMStep",
    "EncoderDecoderStep",
    "ReplayCache",
    "Seq2SeqCache",
    "last_logits",
]


def _logits(out) -> torch.Tensor:
    if isinstance(out, ModelOutput):  # a kexue model: its LM head's logits
        out = logits_of(out)
    logits = out[0] if isinstance(out, tuple | list) else out
    if not isinstance(logits, torch.Tensor) or logits.dim() not in (2, 3):
        raise TypeError(
            "a step must return next-token logits of shape (rows, new_len, vocab) or "
            f"(rows, vocab); got {type(logits).__name__}"
            + (f", shape {tuple(logits.shape)}" if isinstance(logits, torch.Tensor) else "")
        )
    return logits


def last_logits(out, rows: int) -> torch.Tensor:
    """The logits of the last new token, ``(rows, vocab)``, in float32 (``generate()`` scores
    in float32 too), from a step's output (a tensor, or a tuple/list led by the logits)."""
    logits = _logits(out)
    last = logits[:, -1] if logits.dim() == 3 else logits
    if last.shape[0] != rows:
        raise ValueError(f"a step returned logits for {last.shape[0]} rows, expected {rows}")
    if not last.dtype.is_floating_point:
        raise TypeError(f"a step must return float logits, got {last.dtype}")
    return last.float()


class Step:
    """Base class of the step protocol (see the module docstring).

    Override ``__call__(token_ids, positions, cache, state) -> logits`` and, if the step keeps
    a cache, ``new_cache(state)``. Subclasses of the built-in steps can change a model's inputs
    or post-process its logits and still use its KV cache.
    """

    def new_cache(self, state: DecodeState) -> Any:
        """An empty cache for a new batch (``None``: no cache). Must have ``reorder(index)``."""
        return None

    def __call__(
        self, token_ids: torch.Tensor, positions: torch.Tensor, cache: Any, state: DecodeState
    ) -> torch.Tensor:  # pragma: no cover - protocol
        raise NotImplementedError


class ReplayCache:
    """The no-KV-cache "cache": the whole sequence so far, re-run by every call."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}

    def extend(self, name: str, new: torch.Tensor) -> torch.Tensor:
        """Append ``new`` (rows, n) to the kept ``name`` sequence and return the whole of it."""
        old = self.tensors.get(name)
        full = new if old is None else torch.cat([old, new], dim=1)
        self.tensors[name] = full
        return full

    def reorder(self, index: torch.Tensor) -> None:
        self.tensors = {k: v.index_select(0, index.to(v.device)) for k, v in self.tensors.items()}


class CausalLMStep(Step):
    """Decoder-only LM: the prompt and the generated tokens form one causal sequence."""

    segments = False  # UniLM feeds segment ids (0 for the source, 1 after it)

    def __init__(self, model, use_cache: bool = True) -> None:
        self.model = model
        self.use_cache = bool(use_cache)

    def new_cache(self, state: DecodeState) -> Any:
        return self.model.new_cache() if self.use_cache else ReplayCache()

    def __call__(self, token_ids, positions, cache, state):
        seg = None
        if self.segments:
            seg = torch.full_like(token_ids, 0 if state.prefill else 1)
        n = token_ids.shape[1]
        if isinstance(cache, ReplayCache):
            token_ids = cache.extend("ids", token_ids)
            positions = cache.extend("positions", positions)
            if seg is not None:
                seg = cache.extend("segments", seg)
            cache = None
        out = self.model(
            token_ids, seg, attention_mask=state.attention_mask, position_ids=positions,
            cache=cache,
        )  # fmt: skip
        logits = _logits(out)
        return logits if logits.shape[1] == n else logits[:, -n:]


class UniLMStep(CausalLMStep):
    """UniLM seq2seq on a bidirectional encoder (https://kexue.fm/archives/6933).

    The prompt is the source (``segment_ids = 0``, fully visible to itself); generated tokens get
    ``segment_ids = 1`` and see the whole source plus the earlier targets. The logits of the last
    source token (bert4keras: the source's final [SEP]) predict the first target token.
    """

    segments = True


class Seq2SeqCache:
    """Encoder output, encoder mask and decoder KV cache (or replayed decoder ids) per row."""

    def __init__(self, kv: Any) -> None:
        self.kv = kv
        self.encoded: torch.Tensor | None = None
        self.encoder_mask: torch.Tensor | None = None
        self.decoder_ids: torch.Tensor | None = None

    def reorder(self, index: torch.Tensor) -> None:
        for name in ("encoded", "encoder_mask", "decoder_ids"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.index_select(0, index.to(value.device)))
        if self.kv is not None:
            self.kv.reorder(index)


class EncoderDecoderStep(Step):
    """Encoder-decoder (T5): the prefill call encodes the prompt (the source) and decodes
    ``start_id``; later calls decode the new tokens. ``positions`` are not used (T5 has
    relative positions)."""

    def __init__(self, model, use_cache: bool = True, *, start_id: int) -> None:
        self.model = model
        self.use_cache = bool(use_cache)
        self.start_id = start_id

    def new_cache(self, state: DecodeState) -> Seq2SeqCache:
        return Seq2SeqCache(self.model.new_cache() if self.use_cache else None)

    def __call__(self, token_ids, positions, cache, state):
        if state.prefill:
            cache.encoder_mask = state.attention_mask.long()
            cache.encoded = self.model.encode(token_ids, attention_mask=cache.encoder_mask)
            token_ids = torch.full(
                (token_ids.shape[0], 1), self.start_id, dtype=torch.long, device=token_ids.device
            )
        n = token_ids.shape[1]
        if cache.kv is None:
            prev = cache.decoder_ids
            cache.decoder_ids = token_ids if prev is None else torch.cat([prev, token_ids], 1)
            token_ids = cache.decoder_ids
        out = self.model.decode(
            token_ids, cache.encoded, encoder_mask=cache.encoder_mask, cache=cache.kv
        )
        logits = _logits(out)
        return logits if logits.shape[1] == n else logits[:, -n:]
