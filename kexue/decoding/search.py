"""Batched search loops over a stepper: token-by-token (greedy / sampling) and beam search.

These are the engines behind :class:`kexue.decoding.AutoRegressiveDecoder`; they take validated
arguments. All loops are batched over inputs (and beams / samples), one model call per step.

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

from kexue.decoding.hooks import LogitsHook, apply_hooks
from kexue.decoding.sampling import top_k_filter, top_p_filter
from kexue.decoding.steppers import Stepper

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
    mask = torch.zeros(vocab, dtype=torch.bool, device=device)
    mask[end_ids[end_ids < vocab].to(device)] = True
    return mask


def token_search(
    stepper: Stepper,
    ids: torch.Tensor,
    mask: torch.Tensor,
    *,
    width: int,
    max_new_tokens: int,
    min_new_tokens: int,
    end_ids: torch.Tensor,
    min_ends: int,
    mask_ends: bool,
    pad_id: int,
    hooks: tuple[LogitsHook, ...],
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
    the softmax with ``generator``.
    """
    batch = ids.shape[0]
    logits = stepper.start(ids, mask)
    if width > 1:
        index = torch.arange(batch, device=ids.device).repeat_interleave(width)
        stepper.reorder(index)
        logits = logits.index_select(0, index)
    rows = logits.shape[0]
    vocab = logits.shape[-1]
    is_end_tok = _end_mask(end_ids, vocab, logits.device)
    generated = torch.empty((rows, 0), dtype=torch.long, device=logits.device)
    unfinished = torch.ones(rows, dtype=torch.bool, device=logits.device)
    n_ends = torch.zeros(rows, dtype=torch.long, device=logits.device)
    lengths = torch.zeros(rows, dtype=torch.long, device=logits.device)
    scores = torch.zeros(rows, dtype=logits.dtype, device=logits.device)
    for step in range(max_new_tokens):
        if step > 0:
            logits = stepper.step(generated[:, -1])
        logits = apply_hooks(hooks, step, generated, logits)
        if mask_ends and step < min_new_tokens:
            logits = logits.masked_fill(is_end_tok, float("-inf"))
        if sample:
            if temperature != 1.0:
                logits = logits / temperature
            logits = top_p_filter(top_k_filter(logits, top_k), top_p)
        if sample:
            logp = torch.log_softmax(logits, dim=-1)
            if not torch.isfinite(logp.max(dim=-1).values).all():
                raise ValueError(f"every token was excluded at step {step} (check the hooks)")
            token = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
            chosen = logp.gather(1, token[:, None]).squeeze(1)
        else:
            best, token = logits.max(dim=-1)
            if not torch.isfinite(best).all():
                raise ValueError(f"every token was excluded at step {step} (check the hooks)")
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
    stepper: Stepper,
    ids: torch.Tensor,
    mask: torch.Tensor,
    *,
    num_beams: int,
    num_return_sequences: int,
    max_new_tokens: int,
    min_new_tokens: int,
    end_ids: torch.Tensor,
    min_ends: int,
    mask_ends: bool,
    pad_id: int,
    hooks: tuple[LogitsHook, ...],
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
    """
    batch = ids.shape[0]
    k = num_beams
    logits = stepper.start(ids, mask)
    device = logits.device
    expand = torch.arange(batch, device=device).repeat_interleave(k)
    stepper.reorder(expand)
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

    for step in range(max_new_tokens):
        if step > 0:
            logits = stepper.step(running[:, :, -1].reshape(-1))
        logits = apply_hooks(hooks, step, running.reshape(batch * k, step), logits)
        if temperature != 1.0:
            logits = logits / temperature
        logp = torch.log_softmax(logits, dim=-1)
        if mask_ends and step < min_new_tokens:
            logp = logp.masked_fill(is_end_tok, float("-inf"))
        total = (logp.view(batch, k, vocab) + run_scores[:, :, None]).view(batch, k * vocab)
        cand_scores, cand_idx = torch.topk(total, n_cand, dim=1)
        src = cand_idx // vocab
        tok = cand_idx % vocab
        cand_seqs = torch.cat(
            [running.gather(1, src[:, :, None].expand(-1, -1, step)), tok[:, :, None]], dim=2
        )
        cand_ends = run_ends.gather(1, src) + is_end_tok[tok].long()
        length = step + 1
        hits = is_end_tok[tok] & (cand_ends >= min_ends) & (length >= min_new_tokens)
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
        normed = cand_scores / (length**length_penalty)
        blocked = ~open_
        if early_stopping is True:
            blocked = blocked | pool_full.all(dim=1, keepdim=True)
        normed = normed + (blocked | ~new_final).float() * NEG
        pool = torch.cat([pool, pad_col], dim=2)
        merged_seqs = torch.cat([pool, cand_seqs], dim=1)
        merged_scores = torch.cat([pool_scores, normed], dim=1)
        merged_lens = torch.cat([pool_lens, torch.full_like(tok, length)], dim=1)
        merged_full = torch.cat([pool_full, new_final & ~blocked], dim=1)
        pool_scores, sel = torch.topk(merged_scores, k, dim=1)
        pool = merged_seqs.gather(1, sel[:, :, None].expand(-1, -1, length))
        pool_lens = merged_lens.gather(1, sel)
        pool_full = merged_full.gather(1, sel)

        run_scores = next_run_scores
        if length >= max_new_tokens or bool(hits.all()):
            break
        stepper.reorder((beam_src + offsets).view(-1))

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
