"""Perturbed Masking: what a pretrained BERT knows about words and syntax, read from its
hidden states without training (https://kexue.fm/archives/7476; Wu et al., ACL 2020,
arXiv 2004.14786).

**Impact matrix.** With ``H(x)`` the final hidden states, ``x\\{x_i}`` the input with token
``i`` replaced by ``[MASK]`` and ``x\\{x_i, x_j}`` with ``i`` and ``j`` masked:

    f(x_i, x_j) = ‖ H(x\\{x_i})_i − H(x\\{x_i, x_j})_i ‖₂

the influence of ``x_j`` on (the prediction of) ``x_i``; ``f(x_i, x_i) = 0``. All
``L²`` masked copies go through the model in batches (:func:`impact_matrix`); word
segmentation only needs adjacent pairs: ``2L − 1`` copies (``L`` single masks and ``L − 1``
adjacent double masks, :func:`adjacent_impact`).

**Spans.** For spans ``e_1..e_N`` (e.g. words), every token of a span is masked and the mean
of its tokens' vectors is compared: ``f(e_i, e_j) = ‖ mean H(D\\{e_i})_{e_i} −
mean H(D\\{e_i, e_j})_{e_i} ‖``: ``N(N+1)/2`` copies (:func:`span_impact`).

**Segmentation** (the article's addition): ``r_i = ½ [f(x_i, x_{i+1}) + f(x_{i+1}, x_i)]``;
``x_i`` and ``x_{i+1}`` stay in one word when ``r_i ≥ threshold`` (the article: 8 with
Google's BERT base; the scale depends on the model, so :func:`otsu_threshold` offers a
data-driven choice with no gold: the cut between the two modes of the pooled ``r`` values).

**Parse tree** (:func:`parse_tree`, ON-LSTM style): split the words at the ``k`` maximising
``mean F[<k,<k] + mean F[≥k,≥k] − mean F[<k,≥k] − mean F[≥k,<k]`` (means include the zero
diagonal), recurse; the result is ``[tree(left), [word_k, tree(right of k)]]``.

Pitfalls: a whole-word-masking model has seen word boundaries in its masking, so its
segmentation is not unsupervised in the paper's sense (compare a character-masked model);
dropout must be off (``model.eval()``); the impact is measured on ``H``, not on the MLM
logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from kexue.prompting._model import forward, resolve_maxlen

__all__ = [
    "impact_matrix",
    "adjacent_impact",
    "span_impact",
    "relatedness",
    "segment",
    "otsu_threshold",
    "parse_tree",
    "BertSegmenter",
]


def _hidden(model, rows: list[list[int]], batch_size: int) -> torch.Tensor:
    """Final hidden states of equal-length rows, ``(n, len, hidden)`` float64 on the CPU."""
    outs = []
    for s in range(0, len(rows), batch_size):
        chunk = rows[s:s + batch_size]
        out = forward(model, chunk, [[0] * len(r) for r in chunk])
        outs.append(out.hidden.double().cpu())
    return torch.cat(outs)


def _check_ids(token_ids: Sequence[int]) -> list[int]:
    ids = [int(t) for t in token_ids]
    if len(ids) < 3:
        raise ValueError("token_ids must be [CLS] + at least one token + [SEP]")
    return ids


@torch.no_grad()
def impact_matrix(model: torch.nn.Module, token_ids: Sequence[int], mask_id: int, *,
                  batch_size: int = 64) -> torch.Tensor:
    """``F[i, j] = f(x_i, x_j)`` over the inner tokens of ``token_ids`` (``[CLS] … [SEP]``
    excluded): ``(L, L)`` float64, zero diagonal; ``L²`` masked copies in batches."""
    ids = _check_ids(token_ids)
    model.eval()
    L = len(ids) - 2
    rows = []
    for i in range(1, L + 1):
        one = list(ids)
        one[i] = mask_id
        rows.append(one)
        for j in range(1, L + 1):
            if j != i:
                two = list(one)
                two[j] = mask_id
                rows.append(two)
    H = _hidden(model, rows, batch_size)
    F = torch.zeros(L, L, dtype=torch.float64)
    k = 0
    for i in range(L):
        base = H[k, i + 1]
        k += 1
        for j in range(L):
            if j != i:
                F[i, j] = torch.linalg.vector_norm(base - H[k, i + 1])
                k += 1
    return F


@torch.no_grad()
def adjacent_impact(model: torch.nn.Module, token_ids: Sequence[int], mask_id: int, *,
                    batch_size: int = 64) -> torch.Tensor:
    """``(L-1, 2)``: ``[f(x_i, x_{i+1}), f(x_{i+1}, x_i)]`` for each adjacent pair of inner
    tokens, from ``2L − 1`` masked copies (row ``2i``: token ``i`` masked; row ``2i+1``:
    tokens ``i`` and ``i+1`` masked)."""
    ids = _check_ids(token_ids)
    model.eval()
    L = len(ids) - 2
    rows = []
    for i in range(1, L + 1):
        one = list(ids)
        one[i] = mask_id
        rows.append(one)
        if i < L:
            two = list(one)
            two[i + 1] = mask_id
            rows.append(two)
    H = _hidden(model, rows, batch_size)
    out = torch.zeros(max(L - 1, 0), 2, dtype=torch.float64)
    for i in range(L - 1):  # inner token i (0-based) sits at position i + 1
        single_i, pair, single_j = H[2 * i], H[2 * i + 1], H[2 * i + 2]
        out[i, 0] = torch.linalg.vector_norm(single_i[i + 1] - pair[i + 1])
        out[i, 1] = torch.linalg.vector_norm(single_j[i + 2] - pair[i + 2])
    return out


@torch.no_grad()
def span_impact(model: torch.nn.Module, token_ids: Sequence[int],
                spans: Sequence[tuple[int, int]], mask_id: int, *,
                batch_size: int = 64) -> torch.Tensor:
    """``(N, N)`` span impact ``f(e_i, e_j)`` for ``spans`` = ``[(start, end), ...]``, half-open
    indices into ``token_ids`` (contiguous, non-overlapping), from ``N(N+1)/2`` copies."""
    ids = _check_ids(token_ids)
    spans = [(int(a), int(b)) for a, b in spans]
    for a, b in spans:
        if not 0 < a < b <= len(ids) - 1:
            raise ValueError(f"span {(a, b)} is not inside the inner tokens 1..{len(ids) - 2}")
    model.eval()
    N = len(spans)

    def masked(*which: int) -> list[int]:
        row = list(ids)
        for w in which:
            a, b = spans[w]
            row[a:b] = [mask_id] * (b - a)
        return row

    rows, index = [], {}
    for i in range(N):
        index[(i,)] = len(rows)
        rows.append(masked(i))
        for j in range(i + 1, N):
            index[(i, j)] = len(rows)
            rows.append(masked(i, j))
    H = _hidden(model, rows, batch_size)
    F = torch.zeros(N, N, dtype=torch.float64)
    for i in range(N):
        a, b = spans[i]
        base = H[index[(i,)], a:b].mean(0)
        for j in range(N):
            if j != i:
                both = H[index[(min(i, j), max(i, j))], a:b].mean(0)
                F[i, j] = torch.linalg.vector_norm(base - both)
    return F


def relatedness(adjacent: torch.Tensor) -> torch.Tensor:
    """``r_i = ½ [f(x_i, x_{i+1}) + f(x_{i+1}, x_i)]`` from :func:`adjacent_impact`."""
    return adjacent.mean(-1)


def segment(pieces: Sequence[str], r: Sequence[float] | torch.Tensor,
            threshold: float) -> list[str]:
    """Join ``pieces`` into words: ``pieces[i]`` and ``pieces[i+1]`` stay together when
    ``r[i] >= threshold`` (a ``nan`` always cuts: a window boundary)."""
    r = torch.as_tensor(r, dtype=torch.float64).flatten().tolist()
    if len(r) != max(len(pieces) - 1, 0):
        raise ValueError(f"{len(pieces)} pieces need {len(pieces) - 1} relatedness values, "
                         f"got {len(r)}")
    if not pieces:
        return []
    words = [pieces[0]]
    for piece, value in zip(pieces[1:], r):
        if value >= threshold and value == value:
            words[-1] += piece
        else:
            words.append(piece)
    return words


def otsu_threshold(values: Sequence[float] | torch.Tensor) -> float:
    """The threshold that best splits ``values`` into two groups (Otsu: maximal
    between-group variance ``w₀ w₁ (μ₀ − μ₁)²`` over the cuts between sorted values)."""
    v = torch.as_tensor(values, dtype=torch.float64).flatten().sort().values
    n = len(v)
    if n < 2:
        raise ValueError("need at least two values to choose a threshold")
    csum = v.cumsum(0)
    k = torch.arange(1, n, dtype=torch.float64)  # left group sizes
    mu0 = csum[:-1] / k
    mu1 = (csum[-1] - csum[:-1]) / (n - k)
    between = k * (n - k) * (mu0 - mu1) ** 2
    between[v[1:] == v[:-1]] = -1.0  # no cut between equal values
    best = int(between.argmax())
    return float((v[best] + v[best + 1]) / 2)


def _block_mean(F: torch.Tensor, rows: slice, cols: slice) -> torch.Tensor:
    return F[rows, cols].mean()


def parse_tree(F: torch.Tensor | Sequence[Sequence[float]], words: Sequence[str]) -> list:
    """The recursive-split tree of ``words`` from their span impact matrix ``F`` (``N × N``,
    zero diagonal). One word → ``[w]``; two → ``[w0, [w1]]``; else the split ``k`` in
    ``1..N−2`` maximising the within-block minus cross-block means, returning
    ``[tree(words[:k]), [words[k], tree(words[k+1:])]]`` (an empty right part is left out)."""
    F = torch.as_tensor(F, dtype=torch.float64)
    words = list(words)
    if F.shape != (len(words), len(words)):
        raise ValueError(f"F must be {len(words)} x {len(words)}, got {tuple(F.shape)}")
    if not words:
        raise ValueError("no words to parse")
    return _tree(F, words)


def _tree(F: torch.Tensor, words: list[str]) -> list:
    n = len(words)
    if n == 1:
        return [words[0]]
    if n == 2:
        return [words[0], [words[1]]]
    best, best_k = None, 1
    for k in range(1, n - 1):
        left, right = slice(0, k), slice(k, n)
        score = (_block_mean(F, left, left) + _block_mean(F, right, right)
                 - _block_mean(F, left, right) - _block_mean(F, right, left))
        if best is None or score > best:
            best, best_k = float(score), k
    k = best_k
    right = [words[k]]
    if k + 1 < n:
        right.append(_tree(F[k + 1:, k + 1:], words[k + 1:]))
    return [_tree(F[:k, :k], words[:k]), right]


class BertSegmenter:
    """Unsupervised word segmentation of raw text with a pretrained BERT-family encoder.

    ``BertSegmenter(model, tokenizer).relatedness(text)`` gives the adjacent relatedness of
    the text's tokens; ``cut(text, threshold)`` the words. Tokens are aligned back to the
    text (:meth:`Tokenizer.rematch`), so the words join to the original text (whitespace
    dropped); a text longer than the model's positions is cut into consecutive windows of
    ``maxlen − 2`` tokens, with a word boundary between windows (documented truncation).
    """

    def __init__(self, model: torch.nn.Module, tokenizer, *, maxlen: int | None = None,
                 batch_size: int = 64) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.maxlen = resolve_maxlen(model, maxlen)
        self.batch_size = batch_size
        self.mask_id = tokenizer.token_to_id(tokenizer.mask_token)

    def pieces(self, text: str) -> tuple[list[int], list[str]]:
        """Token ids (no ``[CLS]``/``[SEP]``) and the text piece each covers, from its first
        character to the next token's (whitespace removed), so the pieces join to the text
        without whitespace; a token the tokenizer cannot map back (``[UNK]``) starts where
        the previous one ended."""
        tokens = self.tokenizer.tokenize(text)[1:-1]
        mapping = self.tokenizer.rematch(text, tokens)
        ids = self.tokenizer.tokens_to_ids(tokens)
        starts, end = [], 0
        for span in mapping:
            start = span[0] if span else end
            starts.append(start)
            end = span[-1] + 1 if span else start
        bounds = [*starts[1:], len(text)]
        bounds[-1:] = [len(text)]
        pieces = []
        for k, (a, b) in enumerate(zip(starts, bounds)):
            a = 0 if k == 0 else a
            pieces.append("".join(c for c in text[a:max(a, b)] if not c.isspace()))
        return ids, pieces

    def relatedness(self, text: str) -> tuple[list[str], torch.Tensor]:
        """The text's pieces and ``r`` between each adjacent pair (``nan`` across windows)."""
        ids, pieces = self.pieces(text)
        cls = self.tokenizer.token_to_id(self.tokenizer.cls_token)
        sep = self.tokenizer.token_to_id(self.tokenizer.sep_token)
        width = self.maxlen - 2
        r = []
        for s in range(0, len(ids), width):
            window = ids[s:s + width]
            if s:
                r.append(float("nan"))
            if len(window) > 1:
                r.extend(relatedness(adjacent_impact(
                    self.model, [cls, *window, sep], self.mask_id,
                    batch_size=self.batch_size)).tolist())
        return pieces, torch.tensor(r, dtype=torch.float64)

    def cut(self, text: str, threshold: float) -> list[str]:
        pieces, r = self.relatedness(text)
        words = segment(pieces, r, threshold)
        return [w for w in words if w]
