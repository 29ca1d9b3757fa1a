"""A masked LM as the fluency score and the proposal of MCMC text sampling (archives/8119,
8194).

- fluency: the pseudo-log-likelihood ``PLL(x) = Σ_i log p_MLM(x_i | x_{-i})`` (Wang & Cho,
  "BERT has a Mouth, and It Must Speak", 2019; Salazar et al., "Masked Language Model
  Scoring", ACL 2020), one batch of ``len(x)`` masked copies; the target of
  :class:`kexue.decoding.mcmc.CGMHSampler` is then ``ρ(x) = exp(γ · PLL(x))`` (CGMH uses
  γ = 0.8 on a causal LM to soften its length penalty). Pitfall: PLL is a score, not a
  normalised probability; it does not penalise length the way a causal LM does.
- proposal: the MLM's top-K tokens at the ``[MASK]`` slot, weighted by its logits (special
  tokens and ``[UNK]`` excluded). It depends on the context only, as the exact MH acceptance
  of :mod:`kexue.decoding.mcmc` requires.

Tokens of the sampler's state are strings: one vocabulary token each, or a whole keyword
(several characters, kept together because it is locked).
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["MaskedLMText"]


class MaskedLMText:
    """PLL fluency and top-K proposals from a kexue MLM (``with_mlm=True``) and its
    :class:`kexue.text.Tokenizer`."""

    MASK = "[MASK]"

    def __init__(self, model: Any, tokenizer: Any, *, top_k: int = 16,
                 gamma: float = 1.0) -> None:
        self.model, self.tokenizer = model.eval(), tokenizer
        self.top_k, self.gamma = int(top_k), float(gamma)
        self.vocab: dict[str, int] = tokenizer.token_dict
        self.mask_id = tokenizer.token_to_id(self.MASK)
        self.cls_id = tokenizer.token_to_id("[CLS]")
        self.sep_id = tokenizer.token_to_id("[SEP]")
        self.unk_id = tokenizer.token_to_id("[UNK]")
        self._cache: dict[tuple, float] = {}
        banned = [i for t, i in self.vocab.items() if t.startswith("[") and
                  t.endswith("]")]
        self.banned = torch.tensor(sorted(set(banned)), dtype=torch.long)

    def ids_of(self, token: str) -> list[int]:
        """Vocabulary ids of one state token (a keyword is several characters)."""
        if token == self.MASK:
            return [self.mask_id]
        if token in self.vocab:
            return [self.vocab[token]]
        return [self.vocab.get(c, self.unk_id) for c in token]

    def unknown(self, token: str) -> list[str]:
        """The characters of ``token`` outside the vocabulary."""
        if token in self.vocab:
            return []
        return [c for c in token if c not in self.vocab]

    def _logits(self, batch: list[list[int]]) -> torch.Tensor:
        x = torch.tensor(batch, dtype=torch.long)
        with torch.inference_mode():
            return self.model(x, torch.zeros_like(x)).logits.float()

    def log_target(self, tokens: tuple) -> float:
        """``γ · PLL`` of the state's text (cached)."""
        if tokens not in self._cache:
            ids = [self.cls_id] + [i for t in tokens for i in self.ids_of(t)] + [self.sep_id]
            n = len(ids) - 2
            if n == 0:
                return -math.inf
            batch = []
            for k in range(1, n + 1):
                row = list(ids)
                row[k] = self.mask_id
                batch.append(row)
            logp = torch.log_softmax(self._logits(batch), dim=-1)
            pll = sum(float(logp[k - 1, k, ids[k]]) for k in range(1, n + 1))
            self._cache[tokens] = self.gamma * pll
        return self._cache[tokens]

    def proposal(self, context: tuple, slot: int) -> tuple[list[str], list[float]]:
        """Top-K tokens (strings) at ``context[slot]`` (the mask) and their logits."""
        ids = [self.cls_id]
        where = None
        for k, t in enumerate(context):
            if k == slot:
                where = len(ids)
            ids.extend(self.ids_of(t))
        ids.append(self.sep_id)
        logits = self._logits([ids])[0, where].clone()
        logits[self.banned] = -math.inf
        top = torch.topk(logits, self.top_k)
        tokens = self.tokenizer.ids_to_tokens(top.indices.tolist())
        return list(tokens), top.values.tolist()
