"""``DecodeState``: the per-row state of a decoding batch, seen by steps and hooks.

A decoding batch has one *row* per hypothesis: ``batch`` rows for greedy decoding,
``batch * n`` for sampling, ``batch * num_beams`` for beam search (input-major: row ``r``
decodes prompt ``input_index[r]``). The state holds, per row:

- the prompt it decodes (:meth:`DecodeState.prompt`; for UniLM and encoder-decoder models the
  prompt is the source, also reachable as :meth:`DecodeState.source`);
- the tokens generated so far (``generated``, ``(rows, step)``) and the key mask over prompt +
  generated tokens (``attention_mask``);
- the recipe's own state: ``user`` (one Python object per row, from the ``states=`` argument of
  the decoding methods) and ``extra`` (named per-row fields a hook or step adds: a tensor with
  one entry per row along dim 0, or a list with one item per row).

Beam search reorders every per-row field with its beams (a beam that forks into two gets two
independent copies of its ``user`` object and list items), sampling copies the prompt's state
to each of its ``n`` samples, so a counter or a copy-state machine kept here always describes
its own row's history. A hook ends a row with :meth:`DecodeState.finish`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["DecodeState"]


def _reorder_list(items: list, index: list[int]) -> list:
    """``[items[i] for i in index]``, deep-copying every repeat so forks never share objects."""
    seen: set[int] = set()
    out = []
    for i in index:
        item = items[i]
        out.append(copy.deepcopy(item) if i in seen else item)
        seen.add(i)
    return out


class DecodeState:
    """Per-row decoding state (see the module docstring for the fields and reorder rules).

    Attributes:
        kind: ``"lm"``, ``"unilm"``, ``"seq2seq"`` or ``"step"`` (a user-defined step).
        prompts: the prompts, one token-id list per *input* (not per row).
        input_index: ``(rows,)`` int64, the input each row decodes.
        attention_mask: ``(rows, prompt_width + step)`` int64 key mask, 1 for real tokens;
            prompts are left-padded to ``prompt_width``.
        generated: ``(rows, step)`` int64, the tokens generated so far (when a step is called
            with new tokens, they are already included).
        step: number of tokens generated so far.
        prefill: ``True`` during the first call of a step (the one that receives the prompt).
        finished: ``(rows,)`` bool, rows that have ended (greedy / sampling; they receive
            ``pad_id`` from then on and a hook may leave them alone). Always all ``False`` in
            beam search, where finished hypotheses leave the batch.
        user: one recipe object per row, or ``None`` when no ``states=`` were given.
        extra: named per-row fields (tensors with rows along dim 0, or lists of one item per
            row), reordered with the rows.
    """

    def __init__(
        self,
        prompts: list[list[int]],
        attention_mask: torch.Tensor,
        *,
        kind: str,
        user: Sequence[Any] | None = None,
    ) -> None:
        rows = attention_mask.shape[0]
        if len(prompts) != rows:
            raise ValueError(f"{len(prompts)} prompts for an attention mask of {rows} rows")
        if user is not None:
            if isinstance(user, str | bytes) or not isinstance(user, Sequence):
                raise TypeError("states must be a sequence with one recipe state per prompt")
            if len(user) != rows:
                raise ValueError(f"states has {len(user)} entries for {rows} prompts")
        device = attention_mask.device
        self.kind = kind
        self.prompts = prompts
        self.input_index = torch.arange(rows, device=device)
        self.attention_mask = attention_mask
        self.generated = torch.empty((rows, 0), dtype=torch.long, device=device)
        self.step = 0
        self.prefill = True
        self._finished: torch.Tensor | None = None  # None: no row has finished
        self.user = None if user is None else [copy.deepcopy(u) for u in user]
        self.extra: dict[str, torch.Tensor | list] = {}
        self.next_position = torch.zeros(rows, dtype=torch.long, device=device)
        self._finish: torch.Tensor | None = None

    # ------------------------------------------------------------------ reading
    @property
    def rows(self) -> int:
        return int(self.input_index.shape[0])

    @property
    def finished(self) -> torch.Tensor:
        if self._finished is None:
            return torch.zeros(self.rows, dtype=torch.bool, device=self.input_index.device)
        return self._finished

    @finished.setter
    def finished(self, value: torch.Tensor) -> None:
        self._finished = value

    def prompt(self, row: int) -> list[int]:
        """The prompt row ``row`` decodes (the source for UniLM and encoder-decoder models)."""
        return self.prompts[int(self.input_index[row])]

    def source(self, row: int) -> list[int]:
        """The source of row ``row`` (seq2seq / UniLM); the same list as :meth:`prompt`."""
        return self.prompt(row)

    # ------------------------------------------------------------------ hooks
    def finish(self, rows: torch.Tensor | Sequence[int] | Sequence[bool]) -> None:
        """End ``rows`` (a ``(rows,)`` bool mask or a list of row numbers) now, with the tokens
        they have: no token is added at this step (``min_ends`` and ``min_new_tokens`` do not
        apply). In beam search such a beam becomes a finished hypothesis of its current length
        and score if it ranks among the first ``num_beams`` candidates, as an end token
        would."""
        mask = torch.as_tensor(rows, device=self.input_index.device)
        if mask.dtype != torch.bool:
            if mask.dtype.is_floating_point or mask.dtype.is_complex:
                raise TypeError(f"finish() takes a bool mask or row numbers, got {mask.dtype}")
            index = mask.long().flatten()
            if index.numel() and (int(index.min()) < 0 or int(index.max()) >= self.rows):
                raise ValueError(f"finish(): row numbers must be in [0, {self.rows})")
            mask = torch.zeros(self.rows, dtype=torch.bool, device=index.device)
            mask[index] = True
        elif mask.shape != (self.rows,):
            raise ValueError(f"finish(): a bool mask must have shape ({self.rows},)")
        self._finish = mask if self._finish is None else self._finish | mask

    def take_finish(self) -> torch.Tensor | None:
        """The rows hooks asked to end at this step (and clear the request); for the loops."""
        out, self._finish = self._finish, None
        return out

    # ------------------------------------------------------------------ bookkeeping
    def append(self, tokens: torch.Tensor, generated: torch.Tensor | None = None) -> None:
        """Add one new token per row (``(rows, 1)``): generated, mask, step, next position.
        ``generated``: the loop's own copy of ``generated + tokens``, to reuse (no concat)."""
        if generated is None:
            generated = torch.cat([self.generated, tokens], dim=1)
        self.generated = generated
        self.attention_mask = torch.cat([self.attention_mask, torch.ones_like(tokens)], dim=1)
        self.next_position = self.next_position + 1
        self.step += 1
        self.prefill = False

    def reorder(self, index: torch.Tensor, *, within_inputs: bool = False) -> None:
        """Keep rows ``index`` (expanding to beams / samples, or following beam search).

        ``within_inputs=True`` promises that every row is replaced by a row of the same input
        (beam search after the expansion): the fields that are equal for all rows of an input
        (input index, key mask, next position) are then left as they are.
        """
        index = index.to(self.input_index.device)
        rows = self.rows
        if not within_inputs:
            self.input_index = self.input_index.index_select(0, index)
            self.attention_mask = self.attention_mask.index_select(0, index)
            self.next_position = self.next_position.index_select(0, index)
        self.generated = self.generated.index_select(0, index)
        if self._finished is not None:
            self._finished = self._finished.index_select(0, index)
        if self.user is not None or self.extra:
            order = index.tolist()
            if self.user is not None:
                self.user = _reorder_list(self.user, order)
            for name, value in self.extra.items():
                if isinstance(value, torch.Tensor | list):
                    n = len(value) if isinstance(value, list) or value.dim() else None
                    if n != rows:
                        raise ValueError(
                            f"DecodeState.extra[{name!r}] must have one entry per row ({rows}); "
                            f"got {'a 0-d tensor' if n is None else n}"
                        )
                if isinstance(value, torch.Tensor):
                    self.extra[name] = value.index_select(0, index.to(value.device))
                elif isinstance(value, list):
                    self.extra[name] = _reorder_list(value, order)
                else:
                    raise TypeError(
                        f"DecodeState.extra[{name!r}] must be a tensor with one entry per row "
                        f"or a list, got {type(value).__name__}"
                    )
        if self._finish is not None:
            self._finish = self._finish.index_select(0, index)

    def __repr__(self) -> str:
        return f"DecodeState(kind={self.kind!r}, rows={self.rows}, step={self.step})"
