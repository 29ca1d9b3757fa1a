"""Zero-shot classification with the NSP head: NSP-BERT (https://kexue.fm/archives/8671;
Sun et al., arXiv 2109.03564, COLING 2022).

The pretrained next-sentence head scores how coherent a pair is:
``s(A, B) = softmax(NSP logits of [CLS] A [SEP] B [SEP])[0]`` = P(IsNext).

- **Candidates-contrast** (single-sentence tasks): one prompt per label (e.g.
  ``这是一则体育新闻``); ``ŷ = argmax_y s(prompt_y, x)`` (prefix) or ``s(x, prompt_y)``
  (suffix). All ``n × labels`` pairs are scored in batched passes.
- **Samples-contrast** (sentence-pair tasks): every sample is scored once, ``s_i = s(A_i,
  B_i)`` (optionally with a prompt); labels are ordered by increasing coherence and the
  sorted scores are cut into label groups: equal sizes by default (the method assumes a
  balanced label distribution), given proportions, or thresholds fitted on labelled tuning
  data (:func:`fit_thresholds`; NSP-BERT takes them from dev; kexue's protocol takes them
  from ``train_few_all`` so that the report split stays untouched).

Pitfalls: the score is P(IsNext) = softmax index 0 (bert4keras and transformers agree); the
prompt is segment 0 in prefix mode and segment 1 in suffix mode; an over-long pair is an error
unless ``truncate=True`` (which cuts the longer side's end, :meth:`Tokenizer.encode`'s rule).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from kexue.prompting._model import forward, resolve_maxlen

__all__ = ["NSPClassifier", "samples_contrast", "fit_thresholds", "apply_thresholds"]


class NSPClassifier:
    """NSP-head scorer.

    Args:
        model: a kexue BERT-family model with an NSP head (``with_nsp=True``).
        tokenizer: its :class:`kexue.text.Tokenizer`.
        maxlen: tokens per pair (default: the model's positions).
        truncate: cut over-long pairs instead of raising ``ValueError``.
        batch_size: pairs per forward pass.
    """

    def __init__(self, model: torch.nn.Module, tokenizer, *, maxlen: int | None = None,
                 truncate: bool = False, batch_size: int = 32) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        self.model, self.tokenizer = model, tokenizer
        self.maxlen = resolve_maxlen(model, maxlen)
        self.truncate, self.batch_size = truncate, batch_size

    def _encode(self, first: str, second: str) -> tuple[list[int], list[int]]:
        ids, seg = self.tokenizer.encode(first, second)
        if len(ids) > self.maxlen:
            if not self.truncate:
                raise ValueError(
                    f"the pair needs {len(ids)} tokens, more than maxlen={self.maxlen} (the "
                    f"model's positions or the maxlen given); pass truncate=True to cut the "
                    f"longer text's end: {first[:20]!r} / {second[:20]!r}")
            ids, seg = self.tokenizer.encode(first, second, maxlen=self.maxlen)
        return ids, seg

    @torch.no_grad()
    def pairs(self, firsts: Sequence[str], seconds: Sequence[str]) -> torch.Tensor:
        """``(n,)`` P(IsNext) of each ``(firsts[i], seconds[i])``, float32 on the CPU."""
        firsts, seconds = list(firsts), list(seconds)
        if len(firsts) != len(seconds):
            raise ValueError(f"{len(firsts)} first texts for {len(seconds)} second texts")
        if not firsts:
            raise ValueError("give at least one pair")
        for t in firsts + seconds:
            if not isinstance(t, str):
                raise TypeError(f"texts must be str, got {type(t).__name__}")
        self.model.eval()
        pad = self.tokenizer.token_dict.get(self.tokenizer.pad_token, 0)
        rows = [self._encode(a, b) for a, b in zip(firsts, seconds)]
        out = []
        for start in range(0, len(rows), self.batch_size):
            chunk = rows[start:start + self.batch_size]
            res = forward(self.model, [r[0] for r in chunk], [r[1] for r in chunk], pad)
            if res.nsp_logits is None:
                raise ValueError("the model has no NSP head: build it with with_nsp=True")
            out.append(res.nsp_logits.float().softmax(-1)[:, 0].cpu())
        return torch.cat(out)

    def candidates(self, texts: Sequence[str], prompts: Sequence[str],
                   position: str = "prefix") -> torch.Tensor:
        """``(len(texts), len(prompts))`` P(IsNext) of every (prompt, text) pair: ``prefix``
        puts the prompt first (``[CLS] prompt [SEP] text [SEP]``), ``suffix`` second."""
        if position not in ("prefix", "suffix"):
            raise ValueError(f"position must be 'prefix' or 'suffix', got {position!r}")
        if isinstance(texts, str) or isinstance(prompts, str):
            raise TypeError("texts and prompts must be lists of str")
        texts, prompts = list(texts), list(prompts)
        if not prompts:
            raise ValueError("give at least one prompt (one per label)")
        a = [p if position == "prefix" else t for t in texts for p in prompts]
        b = [t if position == "prefix" else p for t in texts for p in prompts]
        return self.pairs(a, b).view(len(texts), len(prompts))

    def predict(self, texts: Sequence[str], prompts: Sequence[str],
                position: str = "prefix") -> list[int]:
        """Candidates-contrast: the index of the most coherent prompt for each text."""
        return self.candidates(texts, prompts, position).argmax(-1).tolist()


def samples_contrast(scores: Sequence[float] | torch.Tensor, n_labels: int,
                     proportions: Sequence[float] | None = None) -> list[int]:
    """Samples-contrast mapping: sort the samples by score and cut the sorted list into
    ``n_labels`` consecutive groups; group ``k`` (``k = 0`` the lowest scores) gets label
    index ``k``. Group ``k`` ends at rank ``round(n · Σ_{j≤k} π_j)`` for the proportions
    ``π`` (default uniform: equal groups). Ties keep the samples' order (a stable sort)."""
    s = torch.as_tensor(scores, dtype=torch.float64).flatten()
    if n_labels < 1:
        raise ValueError(f"n_labels must be >= 1, got {n_labels}")
    props = [1.0 / n_labels] * n_labels if proportions is None else [float(p) for p in proportions]
    if len(props) != n_labels or any(p < 0 for p in props) or sum(props) <= 0:
        raise ValueError(f"proportions must be {n_labels} non-negative numbers")
    total = sum(props)
    n = len(s)
    cuts, acc = [], 0.0
    for p in props[:-1]:
        acc += p / total
        cuts.append(round(acc * n))
    order = torch.sort(s, stable=True).indices.tolist()
    labels = [0] * n
    k = 0
    for rank, i in enumerate(order):
        while k < len(cuts) and rank >= cuts[k]:
            k += 1
        labels[i] = k
    return labels


def fit_thresholds(scores: Sequence[float] | torch.Tensor, labels: Sequence[int],
                   n_labels: int) -> list[float]:
    """The ``n_labels - 1`` increasing thresholds that classify labelled tuning data best when
    label ``k`` is given to scores in ``[t_{k-1}, t_k)`` (labels ordered by increasing
    score): an exact dynamic programme over the sorted scores (most correct samples; ties
    broken towards equal groups by taking the first optimum). Thresholds sit midway between
    neighbouring scores."""
    s = torch.as_tensor(scores, dtype=torch.float64).flatten().tolist()
    y = list(labels)
    if len(s) != len(y) or not s:
        raise ValueError(f"{len(s)} scores for {len(y)} labels")
    if any(not 0 <= v < n_labels for v in y):
        raise ValueError(f"labels must be indices 0..{n_labels - 1}")
    order = sorted(range(len(s)), key=lambda i: s[i])
    xs, ys = [s[i] for i in order], [y[i] for i in order]
    n, K = len(xs), n_labels
    # best[i][k]: most correct among the first i sorted samples with the i-th in label <= k
    NEG = -1
    best = [[0] * K for _ in range(n + 1)]
    back = [[0] * K for _ in range(n + 1)]
    for i in range(1, n + 1):
        for k in range(K):
            stay = best[i - 1][k] + (ys[i - 1] == k)
            prev = best[i][k - 1] if k else NEG
            if k and prev >= stay:
                best[i][k], back[i][k] = prev, 1  # sample i-1 belongs to a lower label
            else:
                best[i][k], back[i][k] = stay, 0
    # trace back the label of each sorted sample
    assign = [0] * n
    i, k = n, K - 1
    while i > 0:
        if back[i][k]:
            k -= 1
        else:
            assign[i - 1] = k
            i -= 1
    thresholds = []
    for k in range(1, K):
        first = next((j for j in range(n) if assign[j] >= k), n)
        if first == 0:
            thresholds.append(xs[0] - 1e-9)
        elif first == n:
            thresholds.append(xs[-1] + 1e-9)
        else:
            thresholds.append((xs[first - 1] + xs[first]) / 2)
    return thresholds


def apply_thresholds(scores: Sequence[float] | torch.Tensor,
                     thresholds: Sequence[float]) -> list[int]:
    """Label index of each score: the number of thresholds at or below it."""
    t = sorted(float(v) for v in thresholds)
    return [sum(v >= x for x in t) for v in torch.as_tensor(scores).flatten().tolist()]
