"""Batched search loops over a step: token-by-token (greedy / sampling) and beam search.

These are the engines behind :class:`kexue.decoding.AutoRegressiveDecoder`; they take validated
arguments. All loops are batched over inputs (and beams / samples), one step call per token.
The step (:mod:`kexue.decoding.steps`) turns new tokens into logits; the loops own the positions,
the key mask and the per-row :class:`~kexue.decoding.state.DecodeState`, and reorder the step's
cache and the state together whenever rows are expanded or follow their beams.

End-of-sequence rule (bert4keras ``min_ends``, https://kexue.fm/archives/7809 uses end = [SEP]):
a row is finished when its newest token is an end token, it holds at least ``min_ends`` end
tokens in total, and it has at least ``min_new_tokens`` tokens. With ``min_ends = 1`` this is
transformers' ``eos_token_id`` rule. While fewer than ``min_new_tokens`` tokens exist the end
tokens are either masked out (``mask_ends=True``, transformers' ``min_new_tokens``) or allowed
but not terminating (``mask_ends=False``, bert4keras's ``minlen``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from kexue.decoding.hooks import run_hooks
from kexue.decoding.sampling import top_k_filter, top_p_filter
from kexue.decoding.state import DecodeState
from kexue.decoding.steps import last_logits

__all__ = ["Generation", "token_search", "beam_search"]

NEG = -1.0e9  # "impossible" score, as in transformers (finite, so sums stay ordered)


@dataclass
class Generation:
    """Decoding result.

    - ``sequences``: ``(batch, num_return, max_len)`` int64 generated tokens (prompt excluded),
      padded with ``pad_id`` after each sequence's end;
    - ``scores``: ``(batch, num_return)`` float: the sum of the log-probabilities of the
      generated tokens (greedy / sampling) or the beam score, that sum divided by
      ``length ** length_penalty`` (beam search); sequences are sorted by it in beam search;
    - ``lengths``: ``(batch, num_return)`` number of generated tokens, end token included.
    """

    sequences: torch.Tensor
    scores: torch.Tensor
    lengths: torch.Tensor

    def tolist(self) -> list[list[list[int]]]:
        """Generated tokens as nested lists ``[input][candidate] -> ids`` without padding."""
        seqs, lens = self.sequences.tolist(), self.lengths.tolist()
        return [
            [row[:n] for row, n in zip(rows, ns, strict=True)]
            for rows, ns in zip(seqs, lens, strict=True)
        ]


def _end_mask(end_ids: torch.Tensor, vocab: int, device) -> torch.Tensor:
    if end_ids.numel() and int(end_ids.max()) >= vocab:
        raise ValueError(
            f"end_id {int(end_ids.max())} is outside the model's vocabulary ({vocab} tokens)"
        )
    mask = torch.zeros(vocab, dtype=torch.bool, device=device)
    mask[end_ids.to(device)] = True
    return mask


def new_cache(step, state: DecodeState):
    """``step.new_cache(state)``, or ``None`` for a step without one."""
    make = getattr(step, "new_cache", None)
    return make(state) if make is not None else None


def prefill(step, state: DecodeState, ids: torch.Tensor):
    """First step call: the left-padded prompt ``ids`` -> (cache, last-token logits)."""
    cache = new_cache(step, state)
    positions = (state.attention_mask.cumsum(-1) - 1).clamp(min=0)
    state.next_position = positions[:, -1] + 1
    logits = last_logits(step(ids, positions, cache, state), ids.shape[0])
    state.prefill = False
    return cache, logits


def feed(
    step, state: DecodeState, cache, tokens: torch.Tensor, generated: torch.Tensor | None = None
) -> torch.Tensor:
    """Feed one new token per row; return the next-token logits ``(rows, vocab)``.
    ``generated``: the loop's tokens so far, ``tokens`` included (saves a concat)."""
    new = tokens.view(-1, 1)
    positions = state.next_position.view(-1, 1)
    state.append(new, generated)
    return last_logits(step(new, positions, cache, state), new.shape[0])


def reorder(cache, state: DecodeState, index: torch.Tensor, within_inputs: bool = False) -> None:
    """Keep rows ``index`` in the step's cache and in the per-row state, together."""
    if cache is not None:
        cache.reorder(index)
    state.reorder(index, within_inputs=within_inputs)


def _not_finite(x: torch.Tensor) -> torch.Tensor:
    return torch.isnan(x) | torch.isposinf(x)


def _diagnose(step: int, raw: torch.Tensor, hooked: torch.Tensor, rows: torch.Tensor):
    """The error for rows whose next-token distribution is undefined: NaN / +inf from the
    model, NaN / +inf from a hook, or every token excluded (all -inf)."""
    where = rows.nonzero().flatten().tolist()[:8]
    if bool(_not_finite(raw[rows]).any()):
        return ValueError(
            f"the model returned NaN or infinite logits at step {step} (rows {where}): "
            "check its weights and inputs"
        )
    if bool(_not_finite(hooked[rows]).any()):
        return ValueError(f"a logits hook returned NaN or +inf at step {step} (rows {where})")
    return ValueError(f"every token was excluded at step {step} (check the hooks; rows {where})")


def token_search(
    step,
    state: DecodeState,
    ids: torch.Tensor,
    *,
    width: int,
    max_new_tokens: int,
    min_new_tokens: int,
    end_ids: torch.Tensor,
    min_ends: int,
    mask_ends: bool,
    pad_id: int,
    hooks: tuple,
    sample: bool,
    temperature: float,
    top_k: int,
    top_p: float,
    generator: torch.Generator | None,
) -> Generation:
    """Greedy (``sample=False``) or random sampling, ``width`` rows per input.

    Greedy follows transformers' ``generate(do_sample=False)``: argmax of the hooked logits;
    finished rows receive ``pad_id``; the loop stops when every row is finished or after
    ``max_new_tokens``. Sampling applies hooks, temperature, top-k, then top-p and draws from
    the softmax with ``generator``. A hook that calls ``state.finish(rows)`` ends those rows
    with the tokens they have (nothing is added at this step).
    """
    batch = ids.shape[0]
    cache, logits = prefill(step, state, ids)
    if width > 1:
        index = torch.arange(batch, device=ids.device).repeat_interleave(width)
        reorder(cache, state, index)
        logits = logits.index_select(0, index)
    rows = logits.shape[0]
    vocab = logits.shape[-1]
    is_end_tok = _end_mask(end_ids, vocab, logits.device)
    generated = torch.empty((rows, 0), dtype=torch.long, device=logits.device)
    unfinished = torch.ones(rows, dtype=torch.bool, device=logits.device)
    n_ends = torch.zeros(rows, dtype=torch.long, device=logits.device)
    lengths = torch.zeros(rows, dtype=torch.long, device=logits.device)
    scores = torch.zeros(rows, dtype=logits.dtype, device=logits.device)
    for t in range(max_new_tokens):
        if t > 0:
            logits = feed(step, state, cache, generated[:, -1], generated)
        state.finished = ~unfinished
        raw = logits
        logits = hooked = run_hooks(hooks, state, logits)
        ended = state.take_finish()
        if ended is not None:  # rows a hook ended keep the tokens they have
            unfinished = unfinished & ~ended
            if not unfinished.any():
                break
        if mask_ends and t < min_new_tokens:
            logits = logits.masked_fill(is_end_tok, float("-inf"))
        if sample:
            if temperature != 1.0:
                logits = logits / temperature
            logits = top_p_filter(top_k_filter(logits, top_k), top_p)
        if sample:
            logp = torch.log_softmax(logits, dim=-1)
            ok = torch.isfinite(logp.max(dim=-1).values)
            if not ok.all():
                if bool((~ok & unfinished).any()):
                    raise _diagnose(t, raw, hooked, ~ok & unfinished)
                logp = logp.masked_fill(~ok[:, None], 0.0)  # finished rows: any token, unused
            token = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
            chosen = logp.gather(1, token[:, None]).squeeze(1)
        else:
            best, token = logits.max(dim=-1)
            ok = torch.isfinite(best)
            if not ok.all() and bool((~ok & unfinished).any()):
                raise _diagnose(t, raw, hooked, ~ok & unfinished)
            chosen = best - torch.logsumexp(logits, dim=-1)
        scores = scores + torch.where(unfinished, chosen, torch.zeros_like(chosen))
        token = torch.where(unfinished, token, torch.full_like(token, pad_id))
        lengths = lengths + unfinished.long()
        generated = torch.cat([generated, token[:, None]], dim=1)
        hit_end = is_end_tok[token] & unfinished
        n_ends = n_ends + hit_end.long()
        done = hit_end & (n_ends >= min_ends) & (lengths >= min_new_tokens)
        unfinished = unfinished & ~done
        if not unfinished.any():
            break
    t = generated.shape[1]
    return Generation(
        sequences=generated.view(batch, width, t),
        scores=scores.view(batch, width),
        lengths=lengths.view(batch, width),
    )


def beam_search(
    step,
    state: DecodeState,
    ids: torch.Tensor,
    *,
    num_beams: int,
    num_return_sequences: int,
    max_new_tokens: int,
    min_new_tokens: int,
    end_ids: torch.Tensor,
    min_ends: int,
    mask_ends: bool,
    pad_id: int,
    hooks: tuple,
    temperature: float,
    length_penalty: float,
    early_stopping: bool | str,
) -> Generation:
    """Batched beam search with transformers' semantics plus bert4keras's stopping rule.

    Per step and input: accumulated score = running score + log_softmax(hooked logits / T);
    the best ``2 * num_beams`` (``(1 + n_end) * num_beams`` with several end ids) of the
    ``num_beams * vocab`` continuations are ranked; the best ``num_beams`` that do not finish
    keep running; those that finish *and* rank among the first ``num_beams`` enter the pool of
    finished hypotheses with score ``sum_logprobs / length ** length_penalty``. A hypothesis also
    finishes at ``max_new_tokens``.

    Stopping per input (``early_stopping``):

    - ``True``: as soon as ``num_beams`` hypotheses are finished;
    - ``False``: once the pool is full and the best running score divided by
      ``current_length ** length_penalty`` cannot beat the worst pooled one (transformers'
      heuristic);
    - ``"never"``: as ``False`` but bounding with ``max_new_tokens`` when ``length_penalty > 0``
      (the canonical exact rule);
    - ``"best"``: bert4keras's rule: stop once the best ``num_return_sequences`` finished
      hypotheses score at least the best running one (exact for ``length_penalty = 0``, since
      running scores only fall). Unlike bert4keras, hypotheses that finished while not on top
      are kept in the pool, not dropped, so the answer scores at least as well.

    Returned slots for which no hypothesis finished (possible only with ``"best"``) have
    length 0 and score ``-inf``.

    The loop ends when every input has stopped or every candidate hit ``max_new_tokens``.

    The per-row state and the step's cache follow the beams. A beam whose hooks exclude every
    token dies (its continuations score ``-inf``); an open input whose every beam died raises.
    A hook that calls ``state.finish(rows)`` ends those beams with the tokens they have: each
    becomes one candidate with its running score and its current length (no token added), which
    enters the finished pool if it ranks among the first ``num_beams``, as an end token would.
    """
    batch = ids.shape[0]
    k = num_beams
    cache, logits = prefill(step, state, ids)
    device = logits.device
    expand = torch.arange(batch, device=device).repeat_interleave(k)
    reorder(cache, state, expand)
    logits = logits.index_select(0, expand)
    vocab = logits.shape[-1]
    is_end_tok = _end_mask(end_ids, vocab, device)
    n_cand = max(2, 1 + int(is_end_tok.sum())) * k
    n_cand = min(n_cand, k * vocab)
    top_slot = torch.arange(n_cand, device=device) < k

    running = torch.empty((batch, k, 0), dtype=torch.long, device=device)
    run_scores = torch.zeros((batch, k), dtype=logits.dtype, device=device)
    run_scores[:, 1:] = NEG
    run_ends = torch.zeros((batch, k), dtype=torch.long, device=device)
    pool = torch.full((batch, k, 0), pad_id, dtype=torch.long, device=device)
    pool_scores = torch.full((batch, k), NEG, dtype=logits.dtype, device=device)
    pool_lens = torch.zeros((batch, k), dtype=torch.long, device=device)
    pool_full = torch.zeros((batch, k), dtype=torch.bool, device=device)
    open_ = torch.ones((batch, 1), dtype=torch.bool, device=device)
    offsets = (torch.arange(batch, device=device) * k)[:, None]
    pad_col = torch.full((batch, k, 1), pad_id, dtype=torch.long, device=device)

    for t in range(max_new_tokens):
        if t > 0:
            logits = feed(step, state, cache, running[:, :, -1].reshape(-1),
                          running.reshape(batch * k, t))  # fmt: skip
        raw = logits
        logits = hooked = run_hooks(hooks, state, logits)
        ended = state.take_finish()
        if temperature != 1.0:
            logits = logits / temperature
        logp = torch.log_softmax(logits, dim=-1)
        if mask_ends and t < min_new_tokens:
            logp = logp.masked_fill(is_end_tok, float("-inf"))
        if ended is not None:
            # an ended beam continues only as "itself, unchanged": one candidate, pad_id with
            # log-probability 0, counted below as finished with the beam's current length
            only_pad = torch.full_like(logp[:1], float("-inf"))
            only_pad[0, pad_id] = 0.0
            logp = torch.where(ended[:, None], only_pad, logp)
            raw = raw.masked_fill(ended[:, None], 0.0)
            hooked = hooked.masked_fill(ended[:, None], 0.0)
            logits = logits.masked_fill(ended[:, None], 0.0)
        total = (logp.view(batch, k, vocab) + run_scores[:, :, None]).view(batch, k * vocab)
        cand_scores, cand_idx = torch.topk(total, n_cand, dim=1)
        if not bool(torch.isfinite(cand_scores[:, 0]).all()):
            # rare path: NaN / +inf from the model or a hook raise; beams with every token
            # excluded (log_softmax of all -inf is NaN) die; an open input with no live beam
            # raises
            bad = _not_finite(raw).any(-1) | _not_finite(hooked).any(-1)
            if bool(bad.any()):
                raise _diagnose(t, raw, hooked, bad)
            dead = torch.isneginf(logits).all(dim=-1)
            logp = logp.masked_fill(dead[:, None], float("-inf"))
            total = (logp.view(batch, k, vocab) + run_scores[:, :, None]).view(batch, -1)
            cand_scores, cand_idx = torch.topk(total, n_cand, dim=1)
            stuck = torch.isneginf(cand_scores[:, 0]) & open_[:, 0]
            if bool(stuck.any()):
                rows = stuck.repeat_interleave(k)
                raise _diagnose(t, raw, hooked, rows)
        src = cand_idx // vocab
        tok = cand_idx % vocab
        cand_seqs = torch.cat(
            [running.gather(1, src[:, :, None].expand(-1, -1, t)), tok[:, :, None]], dim=2
        )
        cand_ends = run_ends.gather(1, src) + is_end_tok[tok].long()
        length = t + 1
        hits = is_end_tok[tok] & (cand_ends >= min_ends) & (length >= min_new_tokens)
        cand_len = None
        if ended is not None:
            ended_cand = ended.view(batch, k).gather(1, src)
            hits = hits | ended_cand
            cand_len = length - ended_cand.long()
        if length >= max_new_tokens:
            hits = torch.ones_like(hits)

        # running beams: the best k candidates that did not finish
        keep_scores = cand_scores + hits.float() * NEG
        next_run_scores, pick = torch.topk(keep_scores, k, dim=1)
        running = cand_seqs.gather(1, pick[:, :, None].expand(-1, -1, length))
        run_ends = cand_ends.gather(1, pick)
        beam_src = src.gather(1, pick)

        # finished hypotheses: top-k ranked, finishing now, while the input is still open
        new_final = hits & top_slot[None, :]
        if cand_len is None:
            normed = cand_scores / (length**length_penalty)
        else:
            normed = cand_scores / cand_len.clamp(min=1).to(cand_scores.dtype) ** length_penalty
        blocked = ~open_
        if early_stopping is True:
            blocked = blocked | pool_full.all(dim=1, keepdim=True)
        normed = normed + (blocked | ~new_final).float() * NEG
        pool = torch.cat([pool, pad_col], dim=2)
        merged_seqs = torch.cat([pool, cand_seqs], dim=1)
        merged_scores = torch.cat([pool_scores, normed], dim=1)
        if cand_len is None:
            cand_len = torch.full_like(tok, length)
        merged_lens = torch.cat([pool_lens, cand_len], dim=1)
        merged_full = torch.cat([pool_full, new_final & ~blocked], dim=1)
        pool_scores, sel = torch.topk(merged_scores, k, dim=1)
        pool = merged_seqs.gather(1, sel[:, :, None].expand(-1, -1, length))
        pool_lens = merged_lens.gather(1, sel)
        pool_full = merged_full.gather(1, sel)

        run_scores = next_run_scores
        if length >= max_new_tokens or bool(hits.all()):
            break
        reorder(cache, state, (beam_src + offsets).view(-1), within_inputs=True)

        # can any input still improve its finished pool?
        if early_stopping == "never" and length_penalty > 0.0:
            best_len = max_new_tokens
        else:
            best_len = length
        best_running = run_scores[:, :1] / (best_len**length_penalty)
        if early_stopping == "best":
            # pool is sorted: the first num_return_sequences slots are the ones to beat
            r = num_return_sequences
            rth_final = torch.where(pool_full[:, r - 1 : r], pool_scores[:, r - 1 : r], NEG)
            open_ = open_ & (best_running > rth_final)
        else:
            worst = torch.where(pool_full, pool_scores.min(dim=1, keepdim=True).values, NEG)
            open_ = open_ & (best_running > worst).any(dim=1, keepdim=True)
        if not bool(open_.any()):
            break
        if early_stopping is True and bool(pool_full.all()):
            break

    r = num_return_sequences
    full = pool_full[:, :r]
    lengths = torch.where(full, pool_lens[:, :r], 0)
    scores = torch.where(full, pool_scores[:, :r], float("-inf"))
    t = int(lengths.max()) if lengths.numel() else 0
    seqs = pool[:, :r, :t]
    positions = torch.arange(t, device=device)
    seqs = seqs.masked_fill(positions[None, None, :] >= lengths[:, :, None], pad_id)
    return Generation(sequences=seqs, scores=scores, lengths=lengths)
