"""``score_continuations``: log-probabilities of many continuations of one prefix (shared cache).

Scoring every candidate ``c`` after a prefix ``x`` as ``log p(c | x) = sum_i log p(c_i | x, c_<i)``
by one full forward pass of ``x + c`` each recomputes the prefix once per candidate. Here the
prefix goes through the step once (filling its KV cache and giving ``p(c_1 | x)``), the cache
is expanded to one row per candidate (``cache.reorder``: a copy of the prefix's keys/values, no
recomputation), and all candidates are fed at once, right-padded, as ``len(c)`` new tokens per
row, so the prefix costs one forward and the candidates ``n * max_len`` tokens. The chess LM
(https://kexue.fm/archives/7877) scores every legal move of a position this way.

Works through the step protocol (:mod:`kexue.decoding.steps`), so for every kind: a causal LM
(prefix = prompt), UniLM (prefix = source, candidates are targets with segment 1) and
encoder-decoder (prefix = encoder input, candidates are decoder outputs after ``start_id``),
and any user step that returns ``(rows, new_len, vocab)`` logits. Log-probabilities are
computed in the logits' dtype, at least float32 (a float64 model scores in float64).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch

from kexue.decoding.decoder import AutoRegressiveDecoder
from kexue.decoding.search import new_cache, reorder
from kexue.decoding.state import DecodeState

__all__ = ["score_continuations"]


def _candidates(candidates, vocab_size: int | None) -> list[list[int]]:
    if isinstance(candidates, torch.Tensor):
        if candidates.dim() != 2:
            raise ValueError(f"candidates tensor must be (n, len), got {tuple(candidates.shape)}")
        if candidates.dtype.is_floating_point or candidates.dtype in (torch.bool,):
            raise TypeError(f"candidate ids must be integers, got {candidates.dtype}")
        candidates = candidates.tolist()
    if isinstance(candidates, str | bytes) or not isinstance(candidates, Sequence):
        raise TypeError("candidates must be a list of token-id lists or an (n, len) tensor")
    if not candidates:
        raise ValueError("no candidates given")
    out = []
    for i, cand in enumerate(candidates):
        if isinstance(cand, str | bytes) or not isinstance(cand, Sequence | torch.Tensor):
            raise TypeError(f"candidate {i} must be a sequence of token ids, got {cand!r}")
        cand = cand.tolist() if isinstance(cand, torch.Tensor) else cand
        ids = []
        for t in cand:
            if isinstance(t, bool) or not isinstance(t, int):
                try:
                    t = t.__index__()
                except (AttributeError, TypeError):
                    raise TypeError(f"candidate {i} holds a non-integer token id {t!r}") from None
            ids.append(t)
        if not ids:
            raise ValueError(f"candidate {i} is empty")
        if min(ids) < 0 or (vocab_size is not None and max(ids) >= vocab_size):
            raise ValueError(f"candidate {i} holds a token id outside the vocabulary: {ids}")
        out.append(ids)
    return out


@torch.inference_mode()
def score_continuations(
    decoder,
    prefix: Sequence[int],
    candidates,
    *,
    chunk_size: int | None = None,
    per_token: bool = False,
) -> torch.Tensor:
    """Log-probabilities ``log p(candidate | prefix)`` of many candidates, sharing the prefix.

    Args:
        decoder: an :class:`AutoRegressiveDecoder` (its step, kind, ``pad_id``, ``start_id``
            and position limit are used), or a causal / UniLM model, wrapped in one.
        prefix: the prefix token ids (a prompt, or the source for UniLM / seq2seq).
        candidates: ``n`` non-empty token-id lists (any lengths) or an ``(n, len)`` tensor.
        chunk_size: feed at most this many candidates at once (each chunk expands a copy of
            the prefix cache; the prefix is still computed once); ``None``: all at once.
        per_token: also return the per-token log-probabilities ``(n, max_len)`` (0 past each
            candidate's end).

    Returns:
        ``(n,)`` summed log-probabilities (and the per-token ones with ``per_token=True``).
    """
    if not isinstance(decoder, AutoRegressiveDecoder):
        decoder = AutoRegressiveDecoder(decoder, end_id=None)
    if chunk_size is not None and (
        not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1
    ):
        raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
    rows = decoder._prompts([prefix], None)
    cands = _candidates(candidates, decoder.vocab_size)
    width = max(len(c) for c in cands)
    ids, mask = decoder._pack(rows, width)
    device = ids.device
    n_prefix = ids.shape[1]
    state = DecodeState(rows, mask, kind=decoder.kind)
    step = decoder.make_step()
    cache = new_cache(step, state)
    positions = torch.arange(n_prefix, device=device)[None, :]
    state.next_position = torch.full((1,), n_prefix, dtype=torch.long, device=device)
    first = _all_logits(step(ids, positions, cache, state))[:, -1]
    state.prefill = False
    dtype = torch.promote_types(first.dtype, torch.float32)
    first_logp = torch.log_softmax(first.to(dtype), dim=-1)  # (1, vocab)

    tokens = torch.full((len(cands), width), decoder.pad_id, dtype=torch.long)
    valid = torch.zeros((len(cands), width), dtype=torch.bool)
    for i, c in enumerate(cands):
        tokens[i, : len(c)] = torch.tensor(c, dtype=torch.long)
        valid[i, : len(c)] = True
    tokens, valid = tokens.to(device), valid.to(device)
    size = len(cands) if chunk_size is None else chunk_size
    pieces = []
    for lo in range(0, len(cands), size):
        chunk = tokens[lo : lo + size]
        c = chunk.shape[0]
        last = lo + size >= len(cands)
        work, st = (cache, state) if last else (copy.deepcopy(cache), copy.deepcopy(state))
        reorder(work, st, torch.zeros(c, dtype=torch.long, device=device))
        # the rows now hold prefix + candidate: generated tokens, key mask, step count
        st.generated = chunk
        st.attention_mask = torch.ones((c, n_prefix + width), dtype=torch.long, device=device)
        st.step = width
        st.next_position = st.next_position + width
        pos = (n_prefix + torch.arange(width, device=device))[None, :].expand(c, width)
        logits = _all_logits(step(chunk, pos, work, st))
        if logits.shape[:2] != (c, width):
            raise ValueError(
                f"the step returned logits of shape {tuple(logits.shape)} for {c} rows of "
                f"{width} new tokens: scoring needs (rows, new_len, vocab)"
            )
        logp = torch.log_softmax(logits.to(dtype), dim=-1)
        head = first_logp.expand(c, -1).gather(1, chunk[:, :1])
        rest = logp[:, :-1].gather(2, chunk[:, 1:, None]).squeeze(2)
        pieces.append(torch.cat([head, rest], dim=1))
    per = torch.cat(pieces, dim=0).masked_fill(~valid, 0.0)
    total = per.sum(dim=1)
    return (total, per) if per_token else total


def _all_logits(out) -> torch.Tensor:
    logits = out[0] if isinstance(out, tuple | list) else out
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3:
        raise TypeError(
            "scoring needs a step that returns logits for every new token, (rows, new_len, vocab)"
        )
    if not logits.dtype.is_floating_point:
        raise TypeError(f"a step must return float logits, got {logits.dtype}")
    return logits
