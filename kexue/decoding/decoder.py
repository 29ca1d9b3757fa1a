"""``AutoRegressiveDecoder``: one batched, KV-cached decoder for every model family.

bert4keras's ``AutoRegressiveDecoder`` (beam search and random sampling, the engine of the
seq2seq articles: math word problems https://kexue.fm/archives/7809, SimBERT
https://kexue.fm/archives/7427, SPACES https://kexue.fm/archives/8046, chess
https://kexue.fm/archives/7877) ran in NumPy, one input at a time and re-ran the whole model
every step. This one keeps its knobs (``min_ends``, ``minlen``/``maxlen``, ``end_id``, top-k,
top-p, temperature, ``n`` samples) but decodes a whole batch of prompts of different lengths at
once, left-padded, with the model's KV cache so one step costs one token's compute. Greedy and
beam search reproduce transformers' ``generate()`` (``num_beams``, ``length_penalty``,
``early_stopping``, ``eos_token_id``, ``min_new_tokens``).

The decoder is open: the model is driven through a public step protocol
(:mod:`kexue.decoding.steps`; pass ``step=`` for a recipe's own), hooks may see and update a
per-row state (:mod:`kexue.decoding.state`) that beam search reorders with its beams.

Example::

    dec = AutoRegressiveDecoder(model, end_id=tokenizer.sep_id, pad_id=0)
    out = dec.beam_search([[101, 2769, 102], [101, 102]], num_beams=3, max_new_tokens=64)
    out.tolist()  # [[ids of input 0], [ids of input 1]]
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import torch

from kexue.decoding.hooks import LogitsHook, StateHook
from kexue.decoding.search import Generation, beam_search, token_search
from kexue.decoding.state import DecodeState
from kexue.decoding.steps import CausalLMStep, EncoderDecoderStep, UniLMStep

__all__ = ["AutoRegressiveDecoder", "Generation"]

_KINDS = ("lm", "unilm", "seq2seq")
_HOOKS_MESSAGE = (
    "hooks must be callables hook(step, generated_ids, logits) -> logits "
    "or StateHook instances hook(logits, state) -> logits"
)
_EARLY = (True, False, "never", "best")


def _infer_kind(model) -> str:
    if callable(getattr(model, "encode", None)) and callable(getattr(model, "decode", None)):
        return "seq2seq"
    app = getattr(model, "application", None)
    if app in ("lm", "unilm"):
        return app
    raise ValueError(
        "cannot tell how to decode this model: pass kind='lm', 'unilm' or 'seq2seq' "
        "(models with encode/decode are seq2seq; others need an `application` attribute)"
    )


def _infer_max_positions(model) -> int | None:
    for name in ("max_positions", "max_position_embeddings", "n_positions"):
        value = getattr(model, name, None)
        if isinstance(value, int):
            return value
    config = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_positions"):
        value = getattr(config, name, None) if config is not None else None
        if isinstance(value, int):
            return value
    return None


def _infer_vocab(model) -> int | None:
    value = getattr(model, "vocab_size", None)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    config = getattr(model, "config", None)
    value = getattr(config, "vocab_size", None) if config is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check_int(name: str, value, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return value


def _integer_dtype(dtype) -> bool:
    """Whether a torch or NumPy array dtype holds integers (bool does not count)."""
    if isinstance(dtype, torch.dtype):
        return not (dtype.is_floating_point or dtype.is_complex or dtype == torch.bool)
    return getattr(dtype, "kind", None) in ("i", "u")


def _token_id(value, where: str) -> int:
    """An integer token id (Python or NumPy int, integer 0-d tensor); floats and bools raise."""
    if isinstance(value, bool) or (isinstance(value, torch.Tensor) and value.dtype == torch.bool):
        raise TypeError(f"{where} must be integer token ids, got the bool {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"{where} must be integer token ids, got {value!r} ({type(value).__name__}); "
            "float ids would be truncated"
        ) from None


class AutoRegressiveDecoder:
    """Batched autoregressive decoding with a KV cache.

    Args:
        model: a model under the kexue model contract (docs/design.md): a causal LM
            (``application="lm"``), a UniLM seq2seq (``application="unilm"``) or an
            encoder-decoder with ``encode``/``decode`` (T5). May be ``None`` with ``step=``.
        end_id: end token id, or several (any of them ends a sequence); ``None`` decodes to
            ``max_new_tokens``.
        pad_id: id written after a sequence's end and used to left-pad prompts.
        start_id: the decoder start token (required for ``seq2seq``; T5 uses the pad id 0).
        kind: ``"lm"``, ``"unilm"`` or ``"seq2seq"``; inferred from the model when ``None``.
        max_positions: the model's position limit (prompt + new tokens); read from the model
            (``max_positions`` / ``config.max_position_embeddings``) when ``None``. Models with
            relative positions (T5) have no limit.
        use_cache: feed one token per step through the KV cache (``True``) or re-run the full
            sequence each step (``False``, the reference; same tokens and scores).
        hooks: logits hooks applied at every step before the per-call ``hooks``
            (see :mod:`kexue.decoding.hooks`).
        step: a recipe's own step (:mod:`kexue.decoding.steps`):
            ``step(token_ids, positions, cache, state) -> logits``, used instead of the
            built-in one for the model's kind (``kind`` must then be ``None``).
        vocab_size: the number of token ids the step accepts, to check prompt ids, ``pad_id``
            and ``start_id`` before decoding (read from the model when ``None``); ``end_id``
            is always checked against the width of the logits.

    Prompts are a list of token-id lists of any lengths (the decoder left-pads them), or a
    ``(batch, len)`` int tensor, optionally with ``attention_mask`` marking real tokens (left or
    right padding). For ``unilm`` the prompt is the source (``[CLS] x [SEP]``, segment 0); for
    ``seq2seq`` it is the encoder input. Outputs hold only the generated tokens.
    """

    def __init__(
        self,
        model=None,
        *,
        end_id: int | Sequence[int] | None,
        pad_id: int = 0,
        start_id: int | None = None,
        kind: str | None = None,
        max_positions: int | None = None,
        use_cache: bool = True,
        hooks: Sequence[LogitsHook | StateHook] = (),
        step: Any = None,
        vocab_size: int | None = None,
    ) -> None:
        if step is not None:
            if not callable(step):
                raise TypeError(
                    f"step must be callable step(token_ids, positions, cache, state), got {step!r}"
                )
            if kind is not None:
                raise ValueError("pass either step= (a recipe's own step) or kind=, not both")
            kind = "step"
        elif model is None:
            raise ValueError("AutoRegressiveDecoder needs a model, or a step= for a custom step")
        else:
            kind = _infer_kind(model) if kind is None else kind
            if kind not in _KINDS:
                raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
        if end_id is None:
            ends: list[int] = []
        elif isinstance(end_id, str | bytes) or not isinstance(end_id, Sequence | torch.Tensor):
            ends = [_token_id(end_id, "end_id")]
        else:
            ends = [_token_id(e, "end_id") for e in end_id]
        if any(e < 0 for e in ends):
            raise ValueError(f"end_id must be >= 0, got {end_id!r}")
        _check_int("pad_id", pad_id, 0)
        if kind == "seq2seq":
            if start_id is None:
                raise ValueError("seq2seq decoding needs start_id (the decoder start token)")
            _check_int("start_id", start_id, 0)
        if max_positions is None and kind != "seq2seq" and model is not None:
            max_positions = _infer_max_positions(model)
        if max_positions is not None:
            _check_int("max_positions", max_positions, 1)
        if vocab_size is None and model is not None:
            vocab_size = _infer_vocab(model)
        if vocab_size is not None:
            _check_int("vocab_size", vocab_size, 1)
            for name, value in (("end_id", max(ends, default=None)), ("pad_id", pad_id),
                                ("start_id", start_id)):  # fmt: skip
                if value is not None and value >= vocab_size:
                    raise ValueError(
                        f"{name} {value} is outside the model's vocabulary ({vocab_size} tokens)"
                    )
        if not all(callable(h) for h in hooks):
            raise TypeError(_HOOKS_MESSAGE)
        self.model = model
        self.step = step
        self.vocab_size = vocab_size
        self.kind = kind
        self.end_ids = torch.tensor(ends, dtype=torch.long)
        self.pad_id = pad_id
        self.start_id = start_id
        self.max_positions = max_positions if kind != "seq2seq" else None
        self.use_cache = bool(use_cache)
        self.hooks = tuple(hooks)

    # ------------------------------------------------------------------ inputs
    def _device(self) -> torch.device:
        for owner in (self.model, getattr(self.step, "model", None), self.step):
            try:
                return next(owner.parameters()).device
            except (AttributeError, StopIteration, TypeError):
                continue
        return torch.device("cpu")

    def _prompts(self, prompts, attention_mask) -> list[list[int]]:
        if isinstance(prompts, torch.Tensor):
            if prompts.dim() != 2:
                raise ValueError(f"prompt tensor must be (batch, len), got {tuple(prompts.shape)}")
            if (
                prompts.dtype.is_floating_point
                or prompts.dtype.is_complex
                or prompts.dtype == torch.bool
            ):
                raise TypeError(f"prompt ids must be integers, got {prompts.dtype}")
            if attention_mask is None:
                rows = prompts.tolist()
            else:
                if attention_mask.shape != prompts.shape:
                    raise ValueError(
                        f"attention_mask shape {tuple(attention_mask.shape)} != prompt shape "
                        f"{tuple(prompts.shape)}"
                    )
                rows = [
                    [t for t, m in zip(r, mr) if m]
                    for r, mr in zip(prompts.tolist(), attention_mask.bool().tolist())
                ]
        else:
            if attention_mask is not None:
                raise ValueError("attention_mask is only accepted with a prompt tensor")
            if isinstance(prompts, str | bytes) or not isinstance(prompts, Sequence):
                raise TypeError("prompts must be a list of token-id lists or a (batch, len) tensor")
            rows = []
            for i, row in enumerate(prompts):
                array = getattr(row, "ndim", None) == 1 and hasattr(row, "tolist")  # NumPy too
                if isinstance(row, str | bytes) or not (isinstance(row, Sequence) or array):
                    raise TypeError(f"prompt {i} must be a sequence of token ids, got {row!r}")
                if array and not _integer_dtype(row.dtype):
                    raise TypeError(
                        f"prompt {i} must be integer token ids, got {row.dtype} "
                        "(float ids would be truncated)"
                    )
                row = row.tolist() if array else row
                rows.append([_token_id(t, f"prompt {i}") for t in row])
        if not rows:
            raise ValueError("no prompts given (empty batch)")
        for i, row in enumerate(rows):
            if not row:
                raise ValueError(f"prompt {i} is empty; every prompt needs at least one token")
            if min(row) < 0:
                raise ValueError(f"prompt {i} holds a negative token id")
            if self.vocab_size is not None and max(row) >= self.vocab_size:
                raise ValueError(
                    f"prompt {i} holds token id {max(row)}, outside the model's vocabulary "
                    f"({self.vocab_size} tokens)"
                )
        return rows

    def _pack(self, rows: list[list[int]], max_new_tokens: int):
        longest = max(len(r) for r in rows)
        if self.max_positions is not None:
            for i, row in enumerate(rows):
                if len(row) > self.max_positions:
                    raise ValueError(
                        f"prompt {i} has {len(row)} tokens but the model has only "
                        f"{self.max_positions} positions"
                    )
                if len(row) + max_new_tokens > self.max_positions:
                    raise ValueError(
                        f"prompt {i} ({len(row)} tokens) + max_new_tokens ({max_new_tokens}) "
                        f"exceeds the model's {self.max_positions} positions"
                    )
        ids = torch.full((len(rows), longest), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, longest - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, longest - len(row) :] = 1
        device = self._device()
        return ids.to(device), mask.to(device)

    def make_step(self):
        """The step this decoder drives: the user's ``step=``, or the built-in one for its
        kind (:class:`CausalLMStep`, :class:`UniLMStep`, :class:`EncoderDecoderStep`)."""
        if self.step is not None:
            return self.step
        if self.kind == "seq2seq":
            return EncoderDecoderStep(self.model, self.use_cache, start_id=self.start_id)
        if self.kind == "unilm":
            return UniLMStep(self.model, self.use_cache)
        return CausalLMStep(self.model, self.use_cache)

    def _start(self, prompts, attention_mask, max_new_tokens, states):
        rows = self._prompts(prompts, attention_mask)
        ids, mask = self._pack(rows, max_new_tokens)
        return ids, DecodeState(rows, mask, kind=self.kind, user=states)

    def _common(self, max_new_tokens, min_new_tokens, min_ends, hooks):
        _check_int("max_new_tokens", max_new_tokens, 1)
        _check_int("min_new_tokens", min_new_tokens, 0)
        _check_int("min_ends", min_ends, 1)
        if min_new_tokens > max_new_tokens:
            raise ValueError(
                f"min_new_tokens ({min_new_tokens}) > max_new_tokens ({max_new_tokens})"
            )
        if not all(callable(h) for h in hooks):
            raise TypeError(_HOOKS_MESSAGE)
        return self.hooks + tuple(hooks)

    @staticmethod
    def _check_temperature(temperature) -> float:
        if (
            not isinstance(temperature, int | float)
            or isinstance(temperature, bool)
            or not 0 < temperature < math.inf
        ):
            raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
        return float(temperature)

    # ----------------------------------------------------------------- methods
    @torch.inference_mode()
    def greedy(
        self,
        prompts,
        *,
        max_new_tokens: int,
        min_new_tokens: int = 0,
        min_ends: int = 1,
        mask_ends: bool = True,
        attention_mask: torch.Tensor | None = None,
        hooks: Sequence[LogitsHook | StateHook] = (),
        states: Sequence[Any] | None = None,
    ) -> Generation:
        """Greedy decoding (argmax each step); matches ``generate(do_sample=False, num_beams=1)``.

        ``min_ends``: a row ends at an end token once it holds ``min_ends`` of them (bert4keras).
        ``min_new_tokens``: ends before this many tokens are masked (``mask_ends=True``,
        transformers) or allowed but not terminating (``mask_ends=False``, bert4keras ``minlen``).
        ``states``: one recipe state per prompt (any object), copied to each of the prompt's
        rows as ``state.user[row]`` for state hooks and steps (see :mod:`kexue.decoding.state`).
        """
        all_hooks = self._common(max_new_tokens, min_new_tokens, min_ends, hooks)
        ids, state = self._start(prompts, attention_mask, max_new_tokens, states)
        return token_search(
            self.make_step(), state, ids, width=1, max_new_tokens=max_new_tokens,
            min_new_tokens=min_new_tokens, end_ids=self.end_ids, min_ends=min_ends,
            mask_ends=mask_ends, pad_id=self.pad_id, hooks=all_hooks, sample=False,
            temperature=1.0, top_k=0, top_p=1.0, generator=None,
        )  # fmt: skip

    @torch.inference_mode()
    def random_sample(
        self,
        prompts,
        *,
        max_new_tokens: int,
        n: int = 1,
        top_k: int = 0,
        top_p: float = 1.0,
        temperature: float = 1.0,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        min_new_tokens: int = 0,
        min_ends: int = 1,
        mask_ends: bool = True,
        attention_mask: torch.Tensor | None = None,
        hooks: Sequence[LogitsHook | StateHook] = (),
        states: Sequence[Any] | None = None,
    ) -> Generation:
        """Draw ``n`` samples per prompt (bert4keras ``random_sample(inputs, n, topk, topp)``).

        Per step: hooks, then logits / temperature, top-k, top-p, softmax, one multinomial draw
        from ``generator`` (or a fresh generator seeded with ``seed``; the global RNG when both
        are ``None``). The same seed gives the same samples. Output ``(batch, n, len)``.
        """
        all_hooks = self._common(max_new_tokens, min_new_tokens, min_ends, hooks)
        _check_int("n", n, 1)
        temperature = self._check_temperature(temperature)
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0:
            raise ValueError(f"top_k must be an int >= 0 (0 disables it), got {top_k!r}")
        if not (isinstance(top_p, int | float) and 0.0 < top_p <= 1.0):
            raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
        if seed is not None and generator is not None:
            raise ValueError("pass either seed or generator, not both")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"seed must be an int, got {seed!r}")
        ids, state = self._start(prompts, attention_mask, max_new_tokens, states)
        if seed is not None:
            generator = torch.Generator(device=ids.device).manual_seed(seed)
        return token_search(
            self.make_step(), state, ids, width=n, max_new_tokens=max_new_tokens,
            min_new_tokens=min_new_tokens, end_ids=self.end_ids, min_ends=min_ends,
            mask_ends=mask_ends, pad_id=self.pad_id, hooks=all_hooks, sample=True,
            temperature=temperature, top_k=top_k, top_p=float(top_p), generator=generator,
        )  # fmt: skip

    @torch.inference_mode()
    def beam_search(
        self,
        prompts,
        *,
        num_beams: int,
        max_new_tokens: int,
        num_return_sequences: int = 1,
        length_penalty: float = 1.0,
        early_stopping: bool | str = False,
        temperature: float = 1.0,
        min_new_tokens: int = 0,
        min_ends: int = 1,
        mask_ends: bool = True,
        attention_mask: torch.Tensor | None = None,
        hooks: Sequence[LogitsHook | StateHook] = (),
        states: Sequence[Any] | None = None,
    ) -> Generation:
        """Batched beam search (see :func:`kexue.decoding.search.beam_search` for the rules).

        Defaults match transformers' ``generate(num_beams=...)``: ``length_penalty=1.0``,
        ``early_stopping=False``. bert4keras's ``beam_search(inputs, topk, min_ends)`` is
        ``num_beams=topk, length_penalty=0.0, early_stopping="best", min_ends=...``.
        Output ``(batch, num_return_sequences, len)`` sorted by score.
        """
        all_hooks = self._common(max_new_tokens, min_new_tokens, min_ends, hooks)
        _check_int("num_beams", num_beams, 1)
        _check_int("num_return_sequences", num_return_sequences, 1)
        if num_return_sequences > num_beams:
            raise ValueError(
                f"num_return_sequences ({num_return_sequences}) > num_beams ({num_beams})"
            )
        if early_stopping not in _EARLY or isinstance(early_stopping, int) and not isinstance(
            early_stopping, bool
        ):
            raise ValueError(f"early_stopping must be one of {_EARLY}, got {early_stopping!r}")
        if (
            not isinstance(length_penalty, int | float)
            or isinstance(length_penalty, bool)
            or not math.isfinite(length_penalty)
        ):
            raise ValueError(f"length_penalty must be a finite number, got {length_penalty!r}")
        temperature = self._check_temperature(temperature)
        ids, state = self._start(prompts, attention_mask, max_new_tokens, states)
        return beam_search(
            self.make_step(), state, ids, num_beams=num_beams,
            num_return_sequences=num_return_sequences, max_new_tokens=max_new_tokens,
            min_new_tokens=min_new_tokens, end_ids=self.end_ids, min_ends=min_ends,
            mask_ends=mask_ends, pad_id=self.pad_id, hooks=all_hooks, temperature=temperature,
            length_penalty=float(length_penalty), early_stopping=early_stopping,
        )  # fmt: skip
