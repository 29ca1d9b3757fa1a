"""SPACES' BIO copy mechanism: copy labels from the token LCS, and the decoding constraint.

kexue.fm/archives/8046 (SPACES, CAIL 2020 summarisation). Each target token ``y_t`` gets a
copy tag ``z_t`` in {O, B, I}: O = generated, B = copied and starts a span, I = copied and
continues the previous copied token contiguously. The generator factorises

    p(y_t, z_t | y_<t, x) = p(y_t | y_<t, x) · p(z_t | y_<t, x)

with a 3-way head beside the LM head (:class:`BIOHead`), trained on the tags of
:func:`bio_labels` at both source and target positions. At decoding, :class:`BIOCopyConstraint`
(a :class:`~kexue.decoding.hooks.StateHook`) first picks ``z_t`` from the head, then masks the
vocabulary:

- O: no constraint;
- B: only tokens that occur in the source;
- I: only tokens that extend the current copied run to a longer contiguous source n-gram;

so every B/I run of the output is a verbatim n-gram of the source. "O cannot be followed by I"
(the article negates the I score in that state; here I is excluded). Pitfalls: under I the run
may reach the source's end with no extension left; the article then falls back to unigrams, which
would break the guarantee, so here the tag becomes B (a new span starts). Special tokens of
the source (``[CLS]``, ``[SEP]``) are not copyable: pass them as ``exclude``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

from kexue.decoding.hooks import StateHook
from kexue.decoding.steps import UniLMStep
from kexue.text.rouge import lcs_pairs

__all__ = ["O", "B", "I", "bio_labels", "BIOHead", "BIOCopyConstraint", "CopyUniLMStep",
           "is_verbatim_copy"]

#: copy tags (the class ids of the BIO head)
O, B, I = 0, 1, 2  # noqa: E741


def bio_labels(source: Sequence, target: Sequence) -> tuple[list[int], list[int]]:
    """Copy tags of ``source`` and ``target`` tokens from their longest common subsequence.

    A matched pair ``(i, j)`` (``source[i] == target[j]`` on the LCS) is I when ``(i-1, j-1)``
    is matched too, B otherwise; unmatched tokens are O. Returns ``(source_tags,
    target_tags)`` (the loss uses both, as SPACES does). The article's example: source
    ``我 真的 非常 热爱 我 的 祖国``, target ``我 爱 我 的 祖国`` gives target tags B O B I I.
    """
    src, tgt = [O] * len(source), [O] * len(target)
    matched = set(lcs_pairs(list(source), list(target)))
    for i, j in matched:
        tag = I if (i - 1, j - 1) in matched else B
        src[i] = tgt[j] = tag
    return src, tgt


class BIOHead(nn.Module):
    """The 3-way copy head: ``Linear(hidden, 3)`` logits over (O, B, I) at every position
    (SPACES: ``Dense(3, softmax)`` on the MLM transform's output)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.proj = nn.Linear(hidden_size, 3)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.proj(hidden)


def is_verbatim_copy(source: Sequence[int], output: Sequence[int], tags: Sequence[int]) -> bool:
    """Whether every maximal B/I run of ``output`` (a B and the I's after it) is a contiguous
    n-gram of ``source`` and no I follows an O or starts the output."""
    runs: list[list[int]] = []
    for tok, tag in zip(output, tags):
        if tag == B:
            runs.append([tok])
        elif tag == I:
            if not runs or runs[-1] is None:
                return False
            runs[-1].append(tok)
        else:
            runs.append(None)  # an O closes the run
    src = list(source)
    for run in runs:
        if run is None:
            continue
        n = len(run)
        if not any(src[k : k + n] == run for k in range(len(src) - n + 1)):
            return False
    return True


class BIOCopyConstraint(StateHook):
    """The SPACES copy constraint as a state-carrying logits hook.

    Args:
        tag_logits: ``state -> (rows, 3)`` logits of (O, B, I) for the next token; default:
            ``state.extra["bio_logits"]``, where :class:`CopyUniLMStep` leaves its head's
            output; a fixed
            policy (``lambda state: ...``) makes the constraint testable without a model.
        exclude: token ids never copied (special tokens of the source).
        always: token ids allowed under every tag (the end token, so a copied run can end
            the output).

    The per-row state lives in ``state.extra["copy"]`` (a list: per row the tag chosen at the
    previous step and the source positions where the current run ends), so beam search keeps
    it with its beams; the chosen tags are appended to ``state.extra["copy_tags"]``.
    """

    def __init__(self, tag_logits: Callable[[object], torch.Tensor] | None = None, *,
                 exclude: Iterable[int] = (), always: Iterable[int] = ()) -> None:
        if tag_logits is None:
            tag_logits = _extra_bio_logits
        if not callable(tag_logits):
            raise TypeError("tag_logits must be a callable state -> (rows, 3) logits")
        self.tag_logits = tag_logits
        self.exclude = frozenset(int(t) for t in exclude)
        self.always = sorted({int(t) for t in always})

    def _source(self, state, row: int) -> list[int]:
        return [t if t not in self.exclude else -1 for t in state.source(row)]

    def __call__(self, logits: torch.Tensor, state) -> torch.Tensor:
        rows, vocab = logits.shape
        memo = state.extra.get("copy")
        if memo is None or len(memo) != rows:
            memo = [(O, ()) for _ in range(rows)]
            state.extra["copy_tags"] = [[] for _ in range(rows)]
        tag_logits = self.tag_logits(state)
        if tag_logits.shape != (rows, 3):
            raise ValueError(f"tag_logits must be ({rows}, 3), got {tuple(tag_logits.shape)}")
        allowed = torch.zeros((rows, vocab), dtype=torch.bool, device=logits.device)
        free = torch.zeros(rows, dtype=torch.bool, device=logits.device)
        new_memo = []
        tags_out = state.extra["copy_tags"]
        for r in range(rows):
            src = self._source(state, r)
            prev_tag, ends = memo[r]
            if state.step > 0 and prev_tag != O:  # advance the run by the token just emitted
                tok = int(state.generated[r, -1])
                if prev_tag == B:
                    ends = tuple(k for k, s in enumerate(src) if s == tok)
                else:
                    ends = tuple(k + 1 for k in ends if k + 1 < len(src) and src[k + 1] == tok)
            else:
                ends = ()
            scores = tag_logits[r].float().tolist()
            if not ends:  # O (or nothing copied yet) cannot be followed by I
                scores[I] = float("-inf")
            tag = max(range(3), key=lambda k: scores[k])
            nexts = {src[k + 1] for k in ends if k + 1 < len(src) and src[k + 1] >= 0}
            if tag == I and not nexts:
                tag = B  # the run cannot grow: start a new span instead
            if tag == O:
                free[r] = True
            else:
                ids = nexts if tag == I else {s for s in src if s >= 0}
                if ids:
                    allowed[r, torch.tensor(sorted(ids), device=logits.device)] = True
                else:
                    tag, free[r] = O, True  # nothing copyable in this source
            if self.always:
                allowed[r, self.always] = True
            new_memo.append((tag, ends))
            tags_out[r] = list(tags_out[r]) + [tag]
        state.extra["copy"] = new_memo
        keep = allowed | free[:, None]
        return logits.masked_fill(~keep, float("-inf"))


def _extra_bio_logits(state) -> torch.Tensor:
    if "bio_logits" not in state.extra:
        raise ValueError("BIOCopyConstraint: state.extra has no 'bio_logits' (decode with "
                         "step=CopyUniLMStep(model, head), or pass tag_logits=)")
    return state.extra["bio_logits"]


class _Tap(nn.Module):
    """The model, remembering its last output (for the copy head)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.inner = model
        self.last = None
        self.application = getattr(model, "application", None)

    def new_cache(self):
        return self.inner.new_cache()

    def forward(self, *args, **kwargs):
        self.last = self.inner(*args, **kwargs)
        return self.last


class CopyUniLMStep(UniLMStep):
    """:class:`~kexue.decoding.steps.UniLMStep` that also runs the BIO head on the last
    position's hidden state and leaves its ``(rows, 3)`` logits in
    ``state.extra["bio_logits"]`` for :class:`BIOCopyConstraint`."""

    def __init__(self, model: nn.Module, head: nn.Module, use_cache: bool = True) -> None:
        super().__init__(_Tap(model), use_cache)
        self.head = head

    def __call__(self, token_ids, positions, cache, state):
        logits = super().__call__(token_ids, positions, cache, state)
        hidden = self.model.last.hidden[:, -1]
        state.extra["bio_logits"] = self.head(hidden).float()
        return logits
