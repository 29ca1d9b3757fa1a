"""Zero-shot (and PET-trained) classification with the MLM head (https://kexue.fm/archives/7764).

For an input ``x`` the pattern gives a cloze ``P(x)`` with mask positions ``m_1..m_K``; one
forward pass gives ``p_k(·) = softmax(MLM logits at m_k)`` and every label is scored from
the same pass (:class:`~kexue.prompting.Verbalizer`): ``score(y) = log Σ_{w ∈ V(y)} s(w)``
with ``s(w) = Π_k p_k(w_k)`` (product) or the mean. The prediction is the arg-max label.

Batched: rows are padded together, ``batch_size`` inputs per pass, all labels at once (one
pass per distinct word length when the verbalizer allows mixed lengths).

Pitfalls: the MLM weights must be the pretrained ones (a checkpoint without them, such as
brightmart's RoBERTa, scores noise); dropout is off (``model.eval()``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch

from kexue.models.outputs import logits_of
from kexue.prompting._model import forward, resolve_maxlen
from kexue.prompting.pattern import Pattern
from kexue.prompting.verbalizer import Verbalizer

__all__ = ["MLMClassifier"]


class MLMClassifier:
    """``MLMClassifier(mlm, tokenizer, Pattern("{mask}满意。{text}"), Verbalizer({...}))``.

    Args:
        model: a kexue BERT-family model with an MLM head (``with_mlm=True``).
        tokenizer: its :class:`kexue.text.Tokenizer`.
        pattern, verbalizer: the cloze and the label words.
        maxlen: tokens per row (default: the model's positions); see ``truncate``.
        truncate: cut over-long texts (their end) instead of raising ``ValueError``.
        batch_size: inputs per forward pass.
    """

    def __init__(self, model: torch.nn.Module, tokenizer, pattern: Pattern,
                 verbalizer: Verbalizer, *, maxlen: int | None = None, truncate: bool = False,
                 batch_size: int = 32) -> None:
        if not isinstance(pattern, Pattern):
            raise TypeError("pattern must be a kexue.prompting.Pattern")
        if not isinstance(verbalizer, Verbalizer):
            raise TypeError("verbalizer must be a kexue.prompting.Verbalizer")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        self.model, self.tokenizer = model, tokenizer
        self.pattern, self.verbalizer = pattern, verbalizer
        self.maxlen = resolve_maxlen(model, maxlen)
        self.truncate, self.batch_size = truncate, batch_size
        self.word_ids = verbalizer.token_ids(tokenizer)  # checks [UNK] and lengths now
        self.lengths = sorted({len(ids) for ws in self.word_ids for ids in ws})

    @property
    def labels(self) -> list:
        return self.verbalizer.labels

    def encode(self, texts: Sequence[str], pairs: Sequence[str] | None = None,
               n_masks: int | None = None):
        """The encoded clozes (:class:`~kexue.prompting.pattern.Encoded`) of ``texts``."""
        texts, pairs = _check(texts, pairs)
        n = self.lengths[0] if n_masks is None else n_masks
        return [self.pattern.encode(self.tokenizer, t, None if pairs is None else pairs[i],
                                    n_masks=n, maxlen=self.maxlen, truncate=self.truncate)
                for i, t in enumerate(texts)]

    @torch.no_grad()
    def scores(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> torch.Tensor:
        """``(len(texts), n_labels)`` label log-scores, float32 on the CPU."""
        texts, pairs = _check(texts, pairs)
        self.model.eval()
        out = torch.full((len(texts), len(self.labels)), float("-inf"))
        for length in self.lengths:
            rows = self.encode(texts, pairs, n_masks=length)
            for start in range(0, len(rows), self.batch_size):
                chunk = rows[start:start + self.batch_size]
                at = self._mask_logits([r.token_ids for r in chunk],
                                       [r.segment_ids for r in chunk],
                                       [r.mask_positions for r in chunk])
                logp = at.float().log_softmax(-1).cpu()  # (b, K, vocab)
                out[start:start + len(chunk)] = torch.logaddexp(
                    out[start:start + len(chunk)], self._label_scores(logp, length))
        return out

    def _mask_logits(self, rows, segments, positions) -> torch.Tensor:
        """``(b, K, vocab)`` MLM logits at the mask positions. A kexue BERT-family model's MLM
        head is applied to the mask positions only (the vocabulary projection of every
        position would cost more than the encoder); other models give their full logits."""
        pad = self.tokenizer.token_dict.get(self.tokenizer.pad_token, 0)
        head = getattr(self.model, "mlm", None)
        emb = getattr(getattr(self.model, "embeddings", None), "token", None)
        if isinstance(head, torch.nn.Module) and emb is not None and hasattr(self.model,
                                                                            "_modules"):
            encoder = copy.copy(self.model)  # shares every parameter; only the head is off
            encoder._modules = {**self.model._modules, "mlm": None}
            res = forward(encoder, rows, segments, pad)
            pos = torch.tensor(positions, device=res.hidden.device)
            h = res.hidden.gather(1, pos[..., None].expand(-1, -1, res.hidden.shape[-1]))
            return head(h, emb.weight, None)
        res = forward(self.model, rows, segments, pad)
        logits = logits_of(res)
        pos = torch.tensor(positions, device=logits.device)
        return logits.gather(1, pos[..., None].expand(-1, -1, logits.shape[-1]))

    def _label_scores(self, logp: torch.Tensor, length: int) -> torch.Tensor:
        """``(b, n_labels)`` log-scores from ``(b, K, vocab)`` log-probabilities, for the words
        of ``length`` tokens (others: ``-inf``)."""
        b = logp.shape[0]
        res = torch.full((b, len(self.labels)), float("-inf"))
        ar = torch.arange(length)
        for j, words in enumerate(self.word_ids):
            per_word = []
            for ids in words:
                if len(ids) != length:
                    continue
                lp = logp[:, ar, torch.tensor(ids)]  # (b, K)
                if self.verbalizer.reduce == "product":
                    per_word.append(lp.sum(-1))
                else:
                    per_word.append(lp.exp().mean(-1).log())
            if per_word:
                res[:, j] = torch.logsumexp(torch.stack(per_word, -1), -1)
        return res

    def predict(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> list:
        """The arg-max label of each text."""
        best = self.scores(texts, pairs).argmax(-1).tolist()
        return [self.labels[i] for i in best]


def _check(texts, pairs):
    if isinstance(texts, str):
        raise TypeError("texts must be a list of str (wrap one text in a list)")
    texts = list(texts)
    if not texts:
        raise ValueError("give at least one text")
    if pairs is not None:
        pairs = list(pairs)
        if len(pairs) != len(texts):
            raise ValueError(f"{len(pairs)} pair texts for {len(texts)} texts")
    return texts, pairs
