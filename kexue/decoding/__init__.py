"""kexue.decoding: batched, KV-cached autoregressive decoding for every model family.

- :class:`AutoRegressiveDecoder` (``greedy``, ``beam_search``, ``random_sample``) and its
  :class:`Generation` result;
- logits hooks (:mod:`kexue.decoding.hooks`): ``SuppressTokens``, ``AllowTokens``, ``TopKMask``;
- filters (:mod:`kexue.decoding.sampling`): ``top_k_filter``, ``top_p_filter``.
"""

from kexue.decoding.decoder import AutoRegressiveDecoder
from kexue.decoding.hooks import AllowTokens, LogitsHook, SuppressTokens, TopKMask, apply_hooks
from kexue.decoding.sampling import top_k_filter, top_p_filter
from kexue.decoding.search import Generation

__all__ = [
    "AutoRegressiveDecoder",
    "Generation",
    "LogitsHook",
    "apply_hooks",
    "SuppressTokens",
    "AllowTokens",
    "TopKMask",
    "top_k_filter",
    "top_p_filter",
]
