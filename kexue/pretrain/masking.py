"""Masked-LM corruption: dynamic masking with the 80/10/10 rule, by token or by whole word.

BERT (Devlin et al., arXiv 1810.04805, §3.1 and appendix A.1): choose 15 % of the tokens;
of those, 80 % become ``[MASK]``, 10 % a random token, 10 % stay; the model predicts the
original token at every chosen position. RoBERTa (arXiv 1907.11692) draws the choice anew
each time a sequence is seen ("dynamic masking"): here the mask is a pure function of the
random generator the caller passes, seeded per (seed, epoch, example), so a resumed run masks
exactly as the uninterrupted one.

Whole-word masking (Chinese BERT-wwm, Cui et al., arXiv 1906.08101; Google's
``create_pretraining_data.py --do_whole_word_mask``): the choice is made over words, and a
word is chosen whole or not at all; the 80/10/10 decision is still drawn per token, as in
Google's code. Words are visited in random order and a word that would overshoot the target
count ``round(rate * n)`` is skipped, so the rate stays close to ``rate`` (at most the target).
Pitfall: whole-word masking leaks word boundaries to the model (the masked spans are words),
which matters for probing methods such as Perturbed Masking (kexue.fm/archives/7476); use
character masking (``word_starts=None``) for a model meant for those.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mask_tokens", "IGNORE_INDEX"]

IGNORE_INDEX = -100


def mask_tokens(ids: np.ndarray, rng: np.random.Generator, *, mask_id: int, vocab_size: int,
                maskable: np.ndarray | None = None, word_starts: np.ndarray | None = None,
                rate: float = 0.15, mask_prob: float = 0.8, random_prob: float = 0.1,
                random_low: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Corrupt ``ids`` for masked-LM training; returns ``(inputs, labels)``.

    Args:
        ids: the token ids of one sequence (1-D integer array).
        rng: the random generator (NumPy), which alone decides the mask.
        mask_id: the ``[MASK]`` id; vocab_size: random replacements are drawn from
            ``[random_low, vocab_size)`` (put ``random_low`` past the special tokens).
        maskable: bool array, False for positions never chosen (``[CLS]``, ``[SEP]``,
            padding); default all True.
        word_starts: 1 where a token starts a word; ``None`` masks single tokens.
        rate, mask_prob, random_prob: 15 %, 80 %, 10 % (the rest keep the token).

    ``labels`` holds the original id at chosen positions and :data:`IGNORE_INDEX` elsewhere.
    At least one token is chosen when any is maskable.
    """
    ids = np.asarray(ids)
    n = len(ids)
    if not 0.0 < rate < 1.0:
        raise ValueError(f"rate must be in (0, 1), got {rate}")
    if mask_prob < 0 or random_prob < 0 or mask_prob + random_prob > 1:
        raise ValueError(f"mask_prob {mask_prob} + random_prob {random_prob} must be in [0, 1]")
    ok = np.ones(n, bool) if maskable is None else np.asarray(maskable, bool)
    if ok.shape != (n,):
        raise ValueError(f"maskable has shape {ok.shape}, ids has {(n,)}")
    inputs = ids.copy()
    labels = np.full(n, IGNORE_INDEX, dtype=np.int64)
    n_ok = int(ok.sum())
    if n_ok == 0:
        return inputs, labels
    target = max(1, int(round(rate * n_ok)))
    if word_starts is None:
        chosen = rng.choice(np.flatnonzero(ok), size=target, replace=False)
    else:
        starts = np.asarray(word_starts).astype(bool).copy()
        if starts.shape != (n,):
            raise ValueError(f"word_starts has shape {starts.shape}, ids has {(n,)}")
        # a non-maskable token is a unit of its own and ends the word before it
        starts |= ~ok
        starts[1:] |= ~ok[:-1]
        starts[0] = True
        bounds = np.append(np.flatnonzero(starts), n)
        units = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if ok[a]]
        picked: list[int] = []
        count = 0
        for u in rng.permutation(len(units)):
            if count >= target:
                break
            a, b = units[u]
            if count + (b - a) > target:
                continue
            picked.extend(range(a, b))
            count += b - a
        chosen = np.array(picked, dtype=np.int64)
    chosen.sort()
    labels[chosen] = ids[chosen]
    u = rng.random(len(chosen))
    to_mask = chosen[u < mask_prob]
    to_random = chosen[(u >= mask_prob) & (u < mask_prob + random_prob)]
    inputs[to_mask] = mask_id
    if len(to_random):
        inputs[to_random] = rng.integers(random_low, vocab_size, size=len(to_random))
    return inputs, labels
