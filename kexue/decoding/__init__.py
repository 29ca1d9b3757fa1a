"""kexue.decoding: batched, KV-cached autoregressive decoding for every model family.

- :class:`AutoRegressiveDecoder` (``greedy``, ``beam_search``, ``random_sample``) and its
  :class:`Generation` result;
- the step protocol (:mod:`kexue.decoding.steps`): ``step(token_ids, positions, cache, state)
  -> logits``, with :class:`CausalLMStep`, :class:`UniLMStep`, :class:`EncoderDecoderStep` and
  any recipe-defined step;
- the per-row state (:class:`DecodeState`) that hooks and steps see and beam search reorders;
- logits hooks (:mod:`kexue.decoding.hooks`): plain ``hook(step, generated, logits)`` or
  :class:`StateHook` ``hook(logits, state)``; ``SuppressTokens``, ``AllowTokens``, ``TopKMask``;
- :func:`score_continuations`: log-probabilities of many continuations of one prefix through
  the prefix's KV cache;
- :class:`Bert4KerasDecoder`: bert4keras's ``predict(inputs, output_ids, states)`` style;
- filters (:mod:`kexue.decoding.sampling`): ``top_k_filter``, ``top_p_filter``.
"""

from kexue.decoding.bert4keras import Bert4KerasDecoder
from kexue.decoding.decoder import AutoRegressiveDecoder
from kexue.decoding.hooks import (
    AllowTokens,
    LogitsHook,
    StateHook,
    SuppressTokens,
    TopKMask,
    apply_hooks,
    state_hook,
)
from kexue.decoding.sampling import top_k_filter, top_p_filter
from kexue.decoding.scoring import score_continuations
from kexue.decoding.search import Generation
from kexue.decoding.state import DecodeState
from kexue.decoding.steps import CausalLMStep, EncoderDecoderStep, Step, UniLMStep

__all__ = [
    "AutoRegressiveDecoder",
    "Generation",
    "DecodeState",
    "Step",
    "CausalLMStep",
    "UniLMStep",
    "EncoderDecoderStep",
    "LogitsHook",
    "StateHook",
    "state_hook",
    "apply_hooks",
    "SuppressTokens",
    "AllowTokens",
    "TopKMask",
    "score_continuations",
    "Bert4KerasDecoder",
    "top_k_filter",
    "top_p_filter",
]
